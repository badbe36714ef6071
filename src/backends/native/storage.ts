/**
 * The `native` backend object: the `cpu` backend's storage plus a pool of output buffers.
 *
 * A fresh Float32Array costs a page fault per 4 KiB the first time it is written, which for the
 * megabyte-sized activations of a training step costs more than the kernel itself. Native kernels
 * therefore take their outputs from a pool, and a buffer goes back to the pool when the last tensor
 * whose values live in it is disposed (tfjs disposes deterministically, so the same buffers come
 * back step after step). Safety rules:
 * - every stored values array whose memory is a pooled ArrayBuffer is counted (views made by cpu
 *   kernels, such as a contiguous Slice, count too), and memory returns to the pool only at zero;
 * - `readSync` (dataSync/data/bufferSync, moving to another backend) hands out a copy of pooled
 *   memory, so no array that outlives its tensor can ever see the buffer reused.
 *
 * tfjs frees a training step's intermediates all at once when the step's tidy scope ends, so the
 * pool settles at the step's peak memory. It keeps at most half the machine's memory
 * (`MIXTURE_NATIVE_POOL_MB` overrides); buffers released beyond that are left to the GC.
 */
import {totalmem} from 'node:os'
import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu'
import type {tf} from '../../engine/tf.js'

type DataId = object

function defaultPoolLimit(): number {
  const raw = process.env.MIXTURE_NATIVE_POOL_MB
  const mb = raw === undefined || raw.trim() === '' ? NaN : Number(raw)
  if (Number.isFinite(mb) && mb >= 0) return Math.floor(mb * 2 ** 20)
  return Math.floor(totalmem() / 2)
}

export class NativeBackend extends MathBackendCPU {
  /** Free buffers by length (in floats). */
  private readonly free = new Map<number, Float32Array[]>()
  /** ArrayBuffers the pool handed out, with the number of live tensor data entries using them. */
  private readonly live = new Map<ArrayBuffer, number>()
  private readonly pooled = new WeakSet<ArrayBuffer>()
  private freeBytes = 0
  /** Most bytes kept in the free lists; beyond that, released buffers are left to the GC. */
  readonly poolLimit: number

  constructor(poolLimit = defaultPoolLimit()) {
    super()
    this.poolLimit = poolLimit
    // the cpu backend's one-time "install tfjs-node" hint does not apply here
    ;(this as unknown as {firstUse: boolean}).firstUse = false
  }

  /** A Float32Array of `n` floats with unspecified contents, for a kernel output. */
  alloc(n: number): Float32Array {
    const list = this.free.get(n)
    const reused = list?.pop()
    if (reused) {
      this.freeBytes -= reused.byteLength
      return reused
    }
    const fresh = new Float32Array(n)
    if (n > 0) this.pooled.add(fresh.buffer as ArrayBuffer)
    return fresh
  }

  /** Bytes waiting in the free lists and the number of pooled buffers in use. */
  poolStats(): {freeBytes: number; freeBuffers: number; liveBuffers: number} {
    let freeBuffers = 0
    for (const list of this.free.values()) freeBuffers += list.length
    return {freeBytes: this.freeBytes, freeBuffers, liveBuffers: this.live.size}
  }

  /** Drop every free buffer (the GC reclaims them). */
  trimPool(): void {
    this.free.clear()
    this.freeBytes = 0
  }

  private track(values: unknown): void {
    const buffer = (values as {buffer?: unknown} | null)?.buffer
    if (!(buffer instanceof ArrayBuffer) || !this.pooled.has(buffer)) return
    this.live.set(buffer, (this.live.get(buffer) ?? 0) + 1)
  }

  private untrack(values: unknown): void {
    const buffer = (values as {buffer?: unknown} | null)?.buffer
    if (!(buffer instanceof ArrayBuffer) || !this.pooled.has(buffer)) return
    const count = (this.live.get(buffer) ?? 0) - 1
    if (count > 0) {
      this.live.set(buffer, count)
      return
    }
    this.live.delete(buffer)
    if (this.freeBytes + buffer.byteLength > this.poolLimit) return
    const n = buffer.byteLength / 4
    const list = this.free.get(n)
    const array = new Float32Array(buffer)
    if (list) list.push(array)
    else this.free.set(n, [array])
    this.freeBytes += buffer.byteLength
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): DataId {
    const id = super.write(values, shape, dtype)
    this.track(values)
    return id
  }

  override move(dataId: DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    if (this.data.has(dataId)) this.untrack(this.data.get(dataId).values)
    super.move(dataId, values, shape, dtype, refCount)
    this.track(values)
  }

  override disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return super.disposeData(dataId, force)
    const values = this.data.get(dataId).values
    const released = super.disposeData(dataId, force)
    if (!this.data.has(dataId) && values !== undefined) this.untrack(values)
    return released
  }

  override readSync(dataId: DataId): tf.backend_util.BackendValues {
    const values = super.readSync(dataId)
    const buffer = (values as {buffer?: unknown}).buffer
    if (buffer instanceof ArrayBuffer && this.pooled.has(buffer)) return (values as Float32Array).slice()
    return values
  }
}
