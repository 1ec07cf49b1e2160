import { createHaldirProxy } from '@haldir/mcp/proxy'
import { describe, expectTypeOf, it } from 'vitest'
import type { CreateGoverningProxy } from './proxy-registry.ts'

describe('the proxy registry and @haldir/mcp', () => {
  it("describes @haldir/mcp's createHaldirProxy as it is (the registry loads it at run time)", () => {
    expectTypeOf(createHaldirProxy).toExtend<CreateGoverningProxy>()
  })
})
