/**
 * Counting what a piece of work costs the WebGPU backend: compute dispatches by program name
 * (tfjs's own programs and the project's kernels), queue submits, and host→GPU uploads. Counts do
 * not depend on the device, so they can be taken on a software adapter.
 */
import {tf} from '../../engine/tf.js'
import {dispatchListeners, webgpuBackend, type WebgpuBackendInternals} from './runner.js'

export interface DispatchCount {
  dispatches: number
  submits: number
  uploads: number
  /** Dispatches by the outermost tfjs kernel that issued them (`Conv2DBackpropFilter`, `Mul`, ...), most first. */
  byKernel: [string, number][]
  /** Dispatches by WGSL program (`BinaryOpProgram`, `MixtureAdam`, ...), most first. */
  byProgram: [string, number][]
}

function sorted(map: Map<string, number>): [string, number][] {
  return [...map.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
}

/** Count the dispatches, submits and uploads that `fn` records on the active webgpu backend. */
export async function countDispatches<T>(fn: () => T | Promise<T>): Promise<{result: T; count: DispatchCount}> {
  const backend = webgpuBackend()
  const engine = tf.engine()
  const byProgram = new Map<string, number>()
  const byKernel = new Map<string, number>()
  const kernels: string[] = []
  let submits = 0
  let uploads = 0
  const note = (name: string): void => {
    byProgram.set(name, (byProgram.get(name) ?? 0) + 1)
    const kernel = kernels[0] ?? '(outside a kernel)'
    byKernel.set(kernel, (byKernel.get(kernel) ?? 0) + 1)
  }
  const restore = [
    patch(engine, 'runKernelFunc', (run) =>
      function (this: unknown, params: {kernelName?: string}) {
        kernels.push(params.kernelName ?? 'customGrad')
        try {
          return run.call(this, params)
        } finally {
          kernels.pop()
        }
      }),
    patch(backend, 'recordAndSubmit', (record) =>
      function (this: unknown, program: {constructor: {name: string}; shaderKey?: string}, ...rest: unknown[]) {
        note(program.constructor.name === 'Object' ? String(program.shaderKey) : program.constructor.name)
        return record.call(this, program, ...rest)
      }),
    patch(backend, 'submitQueue', (submit) =>
      function (this: unknown) {
        submits++
        return submit.call(this)
      }),
    patch(backend, 'uploadToGPU', (upload) =>
      function (this: WebgpuBackendInternals, dataId: object) {
        const data = this.tensorMap.get(dataId) as {resource: unknown; values?: unknown} | undefined
        if (data && data.resource == null && data.values != null) uploads++
        return upload.call(this, dataId)
      }),
  ]
  dispatchListeners.add(note)
  try {
    const result = await fn()
    const list = sorted(byProgram)
    return {result, count: {dispatches: list.reduce((s, [, n]) => s + n, 0), submits, uploads, byKernel: sorted(byKernel), byProgram: list}}
  } finally {
    dispatchListeners.delete(note)
    for (const undo of restore.reverse()) undo()
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (this: unknown, ...args: any[]) => unknown

/** Replace `obj[key]` by `wrap(original)`; returns the undo. */
export function patch(obj: object, key: string, wrap: (original: AnyFunction) => unknown): () => void {
  const target = obj as Record<string, unknown>
  const own = Object.prototype.hasOwnProperty.call(target, key)
  const original = target[key] as AnyFunction
  target[key] = wrap(original)
  return () => {
    if (own) target[key] = original
    else Reflect.deleteProperty(target, key)
  }
}

/** A summary line, then one line per kernel: `    412  Mul`. */
export function formatCount(count: DispatchCount, top = 40, by: 'byKernel' | 'byProgram' = 'byKernel'): string {
  const lines = [`${count.dispatches} dispatches, ${count.submits} submits, ${count.uploads} uploads`]
  const list = count[by]
  for (const [name, n] of list.slice(0, top)) lines.push(`${String(n).padStart(7)}  ${name}`)
  if (list.length > top) lines.push(`    ... ${list.length - top} more`)
  return lines.join('\n')
}
