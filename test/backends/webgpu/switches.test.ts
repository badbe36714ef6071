// The webgpu switch table is the one source of the spec's engine.webgpu keys (schema, defaults,
// descriptions), of which variables numerics.json leaves out, and of each switch's value: the
// variable when set, else the run's engine.webgpu value, else the default. No GPU needed.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {configureWebgpuSwitches, overrideEngineSwitches, WEBGPU_SWITCHES, webgpuSwitch} from '../../../src/backends/webgpu/switches.js'
import {specSchema} from '../../../src/schema/spec.js'
import {NOT_NUMERIC} from '../../../src/run/numerics.js'
import {resolveObject} from '../../helpers.js'

const MINIMAL = {name: 'x', data: {dataset: 'synthetic'}, model: {type: 'mixture', components: [{type: 'cnn', channels: [3]}]}}

function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  for (const [k, v] of Object.entries(vars)) v === undefined ? delete process.env[k] : (process.env[k] = v)
  try {
    return fn()
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v)
  }
}

test('every switch is either an engine.webgpu key of the spec (default = its unset value) or says why it changes no number', () => {
  const keys = specSchema.properties.engine.properties.webgpu.properties as Record<string, {default: unknown; description: string}>
  const resolved = resolveObject(MINIMAL).engine.webgpu as Record<string, unknown>
  let engine = 0
  for (const s of Object.values(WEBGPU_SWITCHES)) {
    if ('key' in s) {
      engine++
      assert.equal(s.variable, `MIXTURE_WEBGPU_${s.key.toUpperCase()}`)
      assert.deepEqual(keys[s.key].default, s.read(undefined), `${s.key}: the spec's default is the switch's unset value`)
      assert.ok(keys[s.key].description.startsWith(s.changes) && keys[s.key].description.includes(s.variable), s.key)
      assert.deepEqual(resolved[s.key], s.read(undefined), `${s.key}: filled by validation`)
      assert.ok(!(s.variable in NOT_NUMERIC), `${s.variable} is recorded in numerics.json`)
    } else {
      assert.ok(s.notNumeric.length > 0)
      assert.equal(NOT_NUMERIC[s.variable], s.notNumeric, `${s.variable} is left out of numerics.json, with its reason`)
    }
  }
  assert.equal(Object.keys(keys).length, engine, 'no spec key without a switch')
  assert.ok(engine >= 16)
})

test('a switch takes its variable when set, else the run’s engine.webgpu value, else its default', () => {
  withEnv({MIXTURE_WEBGPU_FUSED: undefined, MIXTURE_WEBGPU_ADAM_GROUP: undefined}, () => {
    configureWebgpuSwitches({})
    assert.equal(webgpuSwitch('fused'), true)
    assert.equal(webgpuSwitch('adamGroup'), 8)
    configureWebgpuSwitches({fused: false, adam_group: 3})
    assert.equal(webgpuSwitch('fused'), false)
    assert.equal(webgpuSwitch('adamGroup'), 3)
    withEnv({MIXTURE_WEBGPU_FUSED: '1', MIXTURE_WEBGPU_ADAM_GROUP: '5'}, () => {
      assert.equal(webgpuSwitch('fused'), true)
      assert.equal(webgpuSwitch('adamGroup'), 5)
    })
    configureWebgpuSwitches({})
  })
})

test('the environment overrides engine.webgpu keys, one line each naming the key and the value it replaced', () => {
  const {engine, overrides} = overrideEngineSwitches({fused: true, tune: false, adam_group: 8}, {MIXTURE_WEBGPU_FUSED: '0', MIXTURE_WEBGPU_TUNE_BUDGET: '5', MIXTURE_WEBGPU_ADAM_GROUP: '4'})
  assert.equal(engine.fused, false)
  assert.equal(engine.tune, false, 'untouched where no variable is set')
  assert.equal(engine.adam_group, 4)
  assert.deepEqual(overrides, ['MIXTURE_WEBGPU_FUSED=0 overrides engine.webgpu.fused (true)', 'MIXTURE_WEBGPU_ADAM_GROUP=4 overrides engine.webgpu.adam_group (8)'])
})
