// Bundles the dashboard's front end (app/, Preact + htm) into dist/dashboard-app/ with esbuild:
// one script and one stylesheet, shipped inside the package (no CDN) and served by the server.
import { build } from 'esbuild'

const root = new URL('..', import.meta.url).pathname
const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning' } as const
await build({ ...common, entryPoints: [`${root}app/main.ts`], outfile: `${root}dist/dashboard-app/app.js`, format: 'esm', target: 'es2022' })
await build({ ...common, entryPoints: [`${root}app/app.css`], outfile: `${root}dist/dashboard-app/app.css` })
