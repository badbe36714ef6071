// Backend choice: one place, explicit requests are honoured or refused with the reason, auto reports skips.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {describeBackend, requestedBackend, selectBackend} from '../../src/engine/backend.js'
import {tf} from '../../src/engine/tf.js'

test('requested backend: flag, then MIXTURE_BACKEND, then auto; unknown names are refused', () => {
  const saved = process.env.MIXTURE_BACKEND
  try {
    delete process.env.MIXTURE_BACKEND
    assert.equal(requestedBackend(), 'auto')
    process.env.MIXTURE_BACKEND = 'wasm'
    assert.equal(requestedBackend(), 'wasm')
    assert.equal(requestedBackend('cpu'), 'cpu')
    assert.throws(() => requestedBackend('quantum'), /unknown backend "quantum": choose one of auto, tensorflow, webgpu, native, wasm, cpu/)
  } finally {
    if (saved === undefined) delete process.env.MIXTURE_BACKEND
    else process.env.MIXTURE_BACKEND = saved
  }
})

test('an explicit backend that cannot load is an error naming why', async () => {
  await assert.rejects(selectBackend('tensorflow'), /backend "tensorflow" is not available here \(tensorflow: @tensorflow\/tfjs-node-gpu is not installed; tensorflow: @tensorflow\/tfjs-node is not installed\)/)
})

test('cpu always works and is described in one line', async () => {
  const choice = await selectBackend('cpu')
  assert.equal(choice.name, 'cpu')
  assert.equal(tf.getBackend(), 'cpu')
  assert.match(describeBackend(choice), /^backend: cpu — /)
})

test('the auto line lists each faster backend it skipped with the reason', () => {
  const line = describeBackend({name: 'wasm', requested: 'auto', detail: 'XNNPACK', skipped: [{name: 'webgpu', reason: 'no adapter'}, {name: 'native', reason: 'addon not built'}]})
  assert.equal(line, 'backend: wasm — XNNPACK [auto]; skipped webgpu (no adapter), native (addon not built)')
})
