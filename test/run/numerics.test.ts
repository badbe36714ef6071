// What decides a run's numbers besides its spec: read generically from MIXTURE_* switches (a few
// non-numeric ones excepted), compared, and adopted on resume.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {adoptRecorded, currentNumerics, numericsDifferences, numericSwitches, type Numerics} from '../../src/run/numerics.js'

test('every MIXTURE_* variable counts as a switch except the listed non-numeric ones', () => {
  const env = {MIXTURE_WEBGPU_FUSED: '0', MIXTURE_SOMETHING_NEW: 'x', MIXTURE_DATA: '/d', MIXTURE_BACKEND: 'cpu', MIXTURE_REQUIRE: 'native', MIXTURE_THREADS: '2', PATH: '/bin'}
  assert.deepEqual(numericSwitches(env), {MIXTURE_SOMETHING_NEW: 'x', MIXTURE_WEBGPU_FUSED: '0'})
})

test('threads are recorded where they change sums (native, wasm), not elsewhere', () => {
  const native = currentNumerics({name: 'native', requested: 'auto', detail: 'oneDNN v3 JIT avx2, avx2 element-wise, 2 threads', skipped: []}, {})
  assert.equal(native.threads, 2)
  assert.equal(currentNumerics({name: 'cpu', requested: 'cpu', detail: 'pure-JS kernels, single-threaded', skipped: []}, {}).threads, null)
  // The WASM build that runs when the threaded one failed is 1 thread, whatever number its note names.
  const fallback = 'XNNPACK simd build, single-threaded (threaded build failed: cannot write the worker for 2 threads), training kernels added'
  const wasm = currentNumerics({name: 'wasm', requested: 'wasm', detail: fallback, skipped: []}, {})
  assert.equal(wasm.threads, 1)
  assert.deepEqual(numericsDifferences({...wasm, threads: 2}, wasm), ['1 thread instead of 2'])
})

test('differences are named one by one; agreement is empty', () => {
  const a: Numerics = {backend: 'native', backend_detail: '', threads: 2, switches: {MIXTURE_WEBGPU_TUNE: '0'}}
  assert.deepEqual(numericsDifferences(a, a), [])
  assert.deepEqual(numericsDifferences(a, {...a, threads: 4, switches: {MIXTURE_X: '1'}}), ['4 threads instead of 2', 'MIXTURE_WEBGPU_TUNE unset (it was 0)', 'MIXTURE_X=1 (it was unset)'])
  assert.deepEqual(numericsDifferences(a, {...a, backend: 'wasm'}), ['backend wasm instead of native'])
})

test('resume adopts the recorded switches and threads that the environment leaves unset, never overriding one that is set', () => {
  const env: NodeJS.ProcessEnv = {MIXTURE_WEBGPU_GRAPH: '1'}
  const set = adoptRecorded({backend: 'native', backend_detail: '', threads: 3, switches: {MIXTURE_WEBGPU_TUNE: '0', MIXTURE_WEBGPU_GRAPH: '0'}}, env)
  assert.deepEqual(set, ['MIXTURE_WEBGPU_TUNE=0', 'MIXTURE_THREADS=3'])
  assert.equal(env.MIXTURE_WEBGPU_GRAPH, '1', 'a set variable is compared, not overridden')
  const wasm: NodeJS.ProcessEnv = {}
  adoptRecorded({backend: 'wasm', backend_detail: '', threads: 2, switches: {}}, wasm)
  assert.equal(wasm.MIXTURE_WASM_THREADS, '2')
})
