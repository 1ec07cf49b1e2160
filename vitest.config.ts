import { defineConfig } from 'vitest/config'

export default defineConfig({
  // Resolve workspace packages to their TypeScript sources, so tests never run stale builds.
  resolve: { conditions: ['@haldir/source'] },
  ssr: { resolve: { conditions: ['@haldir/source'], externalConditions: ['@haldir/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
