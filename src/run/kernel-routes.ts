/**
 * A run folder's `kernel-routes.json` (webgpu): the product and convolution routes kernel tuning
 * chose on the first batch, written before training; a resumed run, or `MIXTURE_WEBGPU_ROUTES`,
 * pins them instead of timing again.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {KernelTuner} from '../engine/kernel-tuning.js'
import {UsageError} from '../errors.js'
import {writeFileAtomic} from '../fs/write-atomic.js'

export const ROUTES_FILE = 'kernel-routes.json'

/** Pin the kernel routes kept in `file`; a missing or malformed file is a usage error saying which. */
export function pinRoutes(tuner: KernelTuner, file: string, setting?: string): string {
  const what = setting ? `${setting}=${file}` : file
  let doc: unknown
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message
    throw new UsageError(`cannot read the kernel routes in ${what}: ${reason}${setting ? ` (point ${setting} at a run folder's ${ROUTES_FILE}, or unset it)` : ` (delete ${file} to time the routes again)`}`)
  }
  try {
    return tuner.pin(doc, file, setting ? `point ${setting} at a run folder's ${ROUTES_FILE}, or unset it` : undefined)
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

/** Record the routes this run takes (timed now or pinned). */
export function writeRoutes(runDir: string, tuner: KernelTuner): void {
  writeFileAtomic(join(runDir, ROUTES_FILE), `${JSON.stringify(tuner.routes(), null, 2)}\n`)
}
