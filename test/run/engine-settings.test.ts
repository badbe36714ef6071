// The engine settings a run uses: the spec's engine keys with the environment's overrides applied.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {effectiveEngine} from '../../src/run/engine-settings.js'
import {resolveObject} from '../helpers.js'

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
