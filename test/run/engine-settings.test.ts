// The engine settings a run uses: the spec's engine keys with the environment's overrides applied.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {effectiveEngine} from '../../src/run/engine-settings.js'
import {resolveObject} from '../helpers.js'
import {UsageError} from '../../src/errors.js'
import {SpecError} from '../../src/config/errors.js'

const engine = resolveObject({name: 'x', data: {dataset: 'synthetic'}, model: {type: 'mixture', components: [{type: 'cnn', channels: [3]}]}, engine: {threads: 2, webgpu: {graph: false}}}).engine

test('without variables the spec’s engine keys are the settings', () => {
  const {engine: settings, overrides} = effectiveEngine(engine, {})
  assert.deepEqual(settings, engine)
  assert.deepEqual(overrides, [])
  assert.equal(settings.webgpu.graph, false)
  assert.equal(settings.webgpu.fused, true)
})

test('MIXTURE_THREADS and MIXTURE_WEBGPU_* override the spec and say so; nonsense is left for the backend to refuse', () => {
  const {engine: settings, overrides} = effectiveEngine(engine, {MIXTURE_THREADS: '3', MIXTURE_WEBGPU_GRAPH: '1', MIXTURE_WASM_THREADS: '1'})
  assert.equal(settings.threads, 3)
  assert.equal(settings.webgpu.graph, true)
  assert.deepEqual(overrides, [
    'MIXTURE_WASM_THREADS=1 overrides engine.threads on the wasm backend',
    'MIXTURE_THREADS=3 overrides engine.threads (2)',
    'MIXTURE_WEBGPU_GRAPH=1 overrides engine.webgpu.graph (false)',
  ])
  assert.equal(effectiveEngine(engine, {MIXTURE_THREADS: 'many'}).engine.threads, 2)
  assert.deepEqual(engine.webgpu.graph, false, 'the spec itself is not changed')
})

test('a MIXTURE_WEBGPU_* variable set to a text its switch does not take is refused, never read as the default', () => {
  for (const [variable, text, why] of [
    ['MIXTURE_WEBGPU_GRAPH', 'false', /MIXTURE_WEBGPU_GRAPH=false is not 0 or 1/],
    ['MIXTURE_WEBGPU_CONV_INPUT_MM', 'abc', /MIXTURE_WEBGPU_CONV_INPUT_MM=abc is not a whole number from -1 to/],
    ['MIXTURE_WEBGPU_ADAM_GROUP', '0', /MIXTURE_WEBGPU_ADAM_GROUP=0 is not a whole number from 1 to 1024/],
    ['MIXTURE_WEBGPU_SUBMIT_BATCH', 'abc', /MIXTURE_WEBGPU_SUBMIT_BATCH=abc is not a whole number from 1/],
    ['MIXTURE_WEBGPU_TUNE_BUDGET', 'abc', /MIXTURE_WEBGPU_TUNE_BUDGET=abc is not a number of seconds/],
    ['MIXTURE_WEBGPU_ALLOW_SOFTWARE', 'yes', /MIXTURE_WEBGPU_ALLOW_SOFTWARE=yes is not 0 or 1/],
  ] as const) {
    assert.throws(() => effectiveEngine(engine, {[variable]: text}), (e: unknown) => e instanceof UsageError && why.test((e as Error).message), `${variable}=${text}`)
  }
  assert.doesNotThrow(() => effectiveEngine(engine, {MIXTURE_WEBGPU_GRAPH: '0', MIXTURE_WEBGPU_CONV_INPUT_MM: '-1', MIXTURE_WEBGPU_TUNE_BUDGET: '2.5', MIXTURE_WEBGPU_GEMM_PIPELINE: '1'}))
})

test('MIXTURE_DATA_WORKERS and MIXTURE_PREFETCH override engine.data_workers and engine.prefetch and say so; nonsense is refused', () => {
  assert.equal(engine.data_workers, 'auto', 'the default')
  assert.equal(engine.prefetch, null, 'the default: twice the workers')
  const {engine: settings, overrides} = effectiveEngine(engine, {MIXTURE_DATA_WORKERS: '3', MIXTURE_PREFETCH: '5'})
  assert.equal(settings.data_workers, 3)
  assert.equal(settings.prefetch, 5)
  assert.deepEqual(overrides, ['MIXTURE_DATA_WORKERS=3 overrides engine.data_workers ("auto")', 'MIXTURE_PREFETCH=5 overrides engine.prefetch (null)'])
  assert.equal(effectiveEngine({...engine, data_workers: 2}, {MIXTURE_DATA_WORKERS: 'auto'}).engine.data_workers, 'auto')
  assert.equal(effectiveEngine(engine, {MIXTURE_DATA_WORKERS: '0'}).engine.data_workers, 0)
  for (const bad of ['many', '-1', '65', '1.5', '']) {
    assert.throws(() => effectiveEngine(engine, {MIXTURE_DATA_WORKERS: bad}), (e: unknown) => e instanceof UsageError && /MIXTURE_DATA_WORKERS=.* is not a number of data worker threads: give 0 .* to 64, or auto/.test((e as Error).message), bad)
  }
  for (const bad of ['0', 'x', '2000']) {
    assert.throws(() => effectiveEngine(engine, {MIXTURE_PREFETCH: bad}), (e: unknown) => e instanceof UsageError && /MIXTURE_PREFETCH=.* is not a number of batches: give 1 to 1024/.test((e as Error).message), bad)
  }
})

test('engine.data_workers and engine.prefetch in a spec: a number, auto, null; out of range is a spec error', () => {
  const spec = (e: Record<string, unknown>) => ({name: 'x', data: {dataset: 'synthetic'}, model: {type: 'mixture', components: [{type: 'cnn', channels: [3]}]}, engine: e})
  assert.equal(resolveObject(spec({data_workers: 4, prefetch: 12})).engine.data_workers, 4)
  assert.equal(resolveObject(spec({data_workers: 'auto'})).engine.data_workers, 'auto')
  for (const bad of [{data_workers: -1}, {data_workers: 65}, {data_workers: 'all'}, {prefetch: 0}]) {
    assert.throws(() => resolveObject(spec(bad)), (e: unknown) => e instanceof SpecError && /engine\.(data_workers|prefetch)/.test((e as Error).message), JSON.stringify(bad))
  }
})
