// One round of governed calls through one build of @haldir/core, in a worker thread of its own:
// its own V8 heap and JIT, so one build's allocation-site pretenuring (V8 deciding from one badly
// timed collection to allocate a site's objects in the old generation, ~1.5× slower for the rest
// of the heap's life) or its warm code never carries over to the other build's rounds. Two builds
// loaded in one heap showed that: the one imported second ran pretenured in 6 runs of 6, whichever
// build it was.
import { parentPort, workerData } from 'node:worker_threads'
import { type Core, governedCall } from './governed-call.ts'
import { measure } from './measure.ts'

const { corePath, label, calls } = workerData as { corePath: string | null; label: string; calls: number }
const core = (corePath === null ? await import('@haldir/core') : await import(corePath)) as Core
const { haldir, governed } = await governedCall(core, label)
parentPort?.postMessage(await measure(label, () => governed('haldir'), { calls }))
await haldir.close()
