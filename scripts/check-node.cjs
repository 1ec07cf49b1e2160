// Checks that this Node can build, test and run the demo of this repository, before anything
// crashes with an error that does not say why (vitest 5 fails on Node 20 in `Map.groupBy`; the
// demo and tests run TypeScript files directly, which needs type stripping: Node 22.18+).
// Plain JavaScript of the oldest syntax on purpose, so any Node can run it and print the message.
// `--quiet`: no message, only the exit code (for .ci/run).
var fs = require('fs')
var path = require('path')

var manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'))
var range = manifest.engines && manifest.engines.node
var match = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(range || '')
if (!match) {
  console.error('check-node: package.json engines.node must be ">=X.Y.Z", found ' + JSON.stringify(range))
  process.exit(2)
}
var minimum = [Number(match[1]), Number(match[2]), Number(match[3])]
var current = process.versions.node.split('.').map(Number)
var tooOld = false
for (var index = 0; index < 3; index++) {
  if (current[index] !== minimum[index]) {
    tooOld = current[index] < minimum[index]
    break
  }
}
if (tooOld) {
  if (process.argv.indexOf('--quiet') < 0) {
    console.error(
      'Haldir for TypeScript needs Node.js ' + minimum.join('.') + ' or later to build, test and run the demo; this is Node ' + process.version + '.\n' +
        '(The tests and the demo run TypeScript files directly, which Node supports from 22.18; vitest 5 needs 22.12.)\n' +
        'Install Node 24 (e.g. `nvm install 24`) and run the command again, or run `.ci/run`, which fetches Node 24 from the npm registry.',
    )
  }
  process.exit(1)
}
