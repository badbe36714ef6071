/**
 * The engine a run asks for: the spec's `engine:` keys (thread count, webgpu kernel switches) with
 * the environment variables that override them applied. The result goes to the backends as values
 * (`selectBackend`), into the run folder (config.yaml, numerics.json), and each override is said in
 * the run's first lines. The backend itself is chosen by `--backend`, `engine.backend` and
 * `MIXTURE_BACKEND` (engine/backend.ts).
 */
import {overrideEngineSwitches, webgpuSwitch} from '../backends/webgpu/switches.js'
import type {ResolvedSpec} from '../schema/spec.js'

export type EngineSettings = ResolvedSpec['engine']

/** The settings `engine` asks for once the environment's overrides are applied, and one line per override. */
export function effectiveEngine(engine: EngineSettings, env: NodeJS.ProcessEnv = process.env): {engine: EngineSettings; overrides: string[]} {
  const {engine: webgpu, overrides} = overrideEngineSwitches(engine.webgpu, env)
  let threads = engine.threads
  const raw = env.MIXTURE_THREADS
  // A value that is not a positive integer is refused by the backend that reads it, saying so.
  if (raw !== undefined && /^\s*[1-9]\d*\s*$/.test(raw)) {
    overrides.unshift(`MIXTURE_THREADS=${raw} overrides engine.threads (${JSON.stringify(engine.threads)})`)
    threads = Number(raw)
  }
  if (env.MIXTURE_WASM_THREADS !== undefined) overrides.unshift(`MIXTURE_WASM_THREADS=${env.MIXTURE_WASM_THREADS} overrides engine.threads on the wasm backend`)
  return {engine: {...engine, threads, webgpu: {...engine.webgpu, ...webgpu}}, overrides}
}

/** A run folder's kernel-routes.json to pin instead of timing the routes (`MIXTURE_WEBGPU_ROUTES`), if set. */
export function pinnedRoutesFile(): string | undefined {
  return webgpuSwitch('routes')
}
