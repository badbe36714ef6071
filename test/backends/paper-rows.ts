/**
 * The distinct model structures among the paper configs (configs/paper/**), each shrunk to the
 * registry's tiny presets, for the backend parity tests (wasm-models, webgpu-models, webgpu-graph),
 * and what those tests share.
 */
import assert from 'node:assert/strict'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {tf} from '../../src/engine/tf.js'
import {loadWebgpu} from '../../src/backends/webgpu/index.js'
import {countDispatches} from '../../src/backends/webgpu/dispatches.js'
import {loadSpec} from '../../src/config/load.js'
import {lookup} from '../../src/registry/registry.js'
import {REPO} from '../helpers.js'

export type Obj = Record<string, unknown>

/** The paper row's model with every component (or the whole model) at its tiny preset. */
export function tinyModel(model: Obj): Obj {
  if (model.type === 'mixture') {
    const components = (model.components as Obj[]).map((c) => ({type: c.type, ...(lookup('component', c.type as string)?.tiny ?? {})}))
    return {...model, components}
  }
  return {type: model.type, ...(lookup('model', model.type as string)?.tiny ?? {})}
}

export function paperRows(): {row: string; model: Obj}[] {
  const root = join(REPO, 'configs', 'paper')
  const seen = new Set<string>()
  const rows: {row: string; model: Obj}[] = []
  for (const dir of readdirSync(root, {withFileTypes: true}).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const file of readdirSync(join(root, dir)).filter((f) => f.endsWith('.yaml') && f !== 'table.yaml').sort()) {
      const {spec} = loadSpec(join(root, dir, file))
      const model = tinyModel((spec as Obj).model as Obj)
      delete model.init
      const key = JSON.stringify(model)
      if (seen.has(key)) continue
      seen.add(key)
      rows.push({row: `${dir}/${file.replace(/\.yaml$/, '')}`, model})
    }
  }
  return rows
}

export function assertClose(backend: string, actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-3, atol = 1e-4, reference = 'cpu'): void {
  assert.equal(actual.length, expected.length, `${what}: length`)
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i])
    if (!(d <= atol + rtol * Math.abs(expected[i]))) assert.fail(`${what}[${i}]: ${backend} ${actual[i]} vs ${reference} ${expected[i]} (|diff| ${d})`)
  }
}

/** The values of `make()` read back on webgpu, and how often each program ran to make them. */
export async function valuesAndPrograms(make: () => tf.Tensor): Promise<{values: Float32Array; programs: Map<string, number>}> {
  const {result, count} = await countDispatches(async () => {
    const out = tf.tidy(make)
    const values = Float32Array.from(await out.data())
    out.dispose()
    return values
  })
  return {values: result, programs: new Map(count.byProgram)}
}

/**
 * Why the WebGPU tests cannot run here (no adapter, or the backend does not start), or false; the
 * reason also goes to stderr, prefixed by `what`. Leaves the cpu backend active.
 */
export async function webgpuUnavailable(what: string): Promise<string | false> {
  let reason: string | false = false
  try {
    await loadWebgpu()
    if (!(await tf.setBackend('webgpu'))) reason = "tf.setBackend('webgpu') failed"
  } catch (error) {
    reason = `no usable WebGPU adapter: ${(error as Error).message}`
  }
  await tf.setBackend('cpu')
  if (reason) process.stderr.write(`${what} skipped: ${reason}\n`)
  return reason
}
