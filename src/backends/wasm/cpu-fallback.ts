/**
 * Safety net: every kernel the pure-JS `cpu` backend has and the WASM backend lacks runs on
 * `cpu`, its inputs copied off and its outputs copied back onto the WASM heap. Slow, but an op
 * that no model here uses often (segment sums for gather gradients, einsum, depthwise-conv
 * gradients, ...) then works instead of failing with "kernel not registered".
 */
import {tf} from '../../engine/tf.js'
import type {Backend, Info} from './heap.js'

type CpuBackend = tf.KernelBackend & {
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues
  disposeData(dataId: tf.DataId, force?: boolean): boolean
}

function toCpu(cpu: CpuBackend, backend: Backend, t: Info): Info {
  return {dataId: cpu.write(backend.readSync(t.dataId), t.shape, t.dtype), shape: t.shape, dtype: t.dtype}
}

export function cpuFallback(config: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: config.kernelName,
    backendName: 'wasm',
    kernelFunc: ({inputs, backend, attrs}) => {
      const wasm = backend as unknown as Backend
      const cpu = tf.engine().findBackend('cpu') as CpuBackend
      const moved: Info[] = []
      const cpuInputs = (Array.isArray(inputs) ? [] : {}) as Record<string, Info> & Info[]
      for (const [name, t] of Object.entries(inputs as Record<string, Info | null>)) {
        if (t == null) continue
        const c = toCpu(cpu, wasm, t)
        moved.push(c)
        cpuInputs[name as never] = c as never
      }
      try {
        const result = config.kernelFunc({inputs: cpuInputs as tf.NamedTensorInfoMap, backend: cpu, attrs})
        const outs = Array.isArray(result) ? result : [result]
        const back = outs.map((o) => wasm.makeOutput(o.shape, o.dtype, undefined, cpu.readSync(o.dataId)))
        for (const o of outs) cpu.disposeData(o.dataId, true)
        return Array.isArray(result) ? back : back[0]
      } finally {
        for (const c of moved) cpu.disposeData(c.dataId, true)
      }
    },
  }
}

/**
 * Register the cpu fallback for every kernel `cpu` has and `wasm` lacks; returns their names.
 * The project's own kernels (`Mixture*`) are left out: they are optional by contract, and the
 * layers' composites are faster on wasm than a round trip through cpu.
 */
export function registerCpuFallbacks(): string[] {
  const have = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName))
  const added: string[] = []
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (have.has(config.kernelName) || config.kernelName.startsWith('Mixture')) continue
    tf.registerKernel(cpuFallback(config))
    added.push(config.kernelName)
  }
  return added
}
