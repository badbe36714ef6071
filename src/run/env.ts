/** What `env.json` records: versions, backend, git commit, machine, command line; and each resume's. */
import {execFileSync} from 'node:child_process'
import {readFileSync, renameSync} from 'node:fs'
import {cpus, hostname, totalmem, platform, arch} from 'node:os'
import {isAbsolute, join} from 'node:path'
import {createRequire} from 'node:module'
import type {BackendChoice} from '../engine/backend.js'
import {writeFileAtomic} from '../fs/write-atomic.js'
import {PACKAGE_ROOT} from '../fs/package-folder.js'
import {stamp} from './folders.js'

const require = createRequire(import.meta.url)

function packageVersion(name: string): string | null {
  try {
    return (require(`${name}/package.json`) as {version: string}).version
  } catch {
    return null
  }
}

export function projectVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {version: string}).version
}

export function gitInfo(): {commit: string | null; dirty: boolean | null} {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], {cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'ignore']}).toString().trim()
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'ignore']}).toString()
    return {commit, dirty: status.trim().length > 0}
  } catch {
    return {commit: null, dirty: null}
  }
}

export function environment(backend: BackendChoice | undefined): Record<string, unknown> {
  const cpu = cpus()
  return {
    mixture_models: projectVersion(),
    node: process.version,
    tfjs: {
      core: packageVersion('@tensorflow/tfjs-core'),
      layers: packageVersion('@tensorflow/tfjs-layers'),
      wasm: packageVersion('@tensorflow/tfjs-backend-wasm'),
      webgpu: packageVersion('@tensorflow/tfjs-backend-webgpu'),
      node_gpu: packageVersion('@tensorflow/tfjs-node-gpu'),
      node: packageVersion('@tensorflow/tfjs-node'),
    },
    backend: backend ?? null,
    git: gitInfo(),
    host: {hostname: hostname(), platform: platform(), arch: arch(), cpus: cpu.length, cpu_model: cpu[0]?.model ?? null, memory_gb: Math.round(totalmem() / 2 ** 30)},
    command: process.argv.slice(1),
    cwd: process.cwd(),
  }
}

/** env.json of the run in `runDir`: its document (empty where there is none or it cannot be read), and why it cannot be read (not JSON, not an object). */
function readEnvDocument(runDir: string): {doc: Record<string, unknown>; damaged?: string} {
  let doc: unknown
  try {
    doc = JSON.parse(readFileSync(join(runDir, 'env.json'), 'utf8'))
  } catch (error) {
    return {doc: {}, ...((error as NodeJS.ErrnoException).code === 'ENOENT' ? {} : {damaged: (error as Error).message})}
  }
  return doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? {doc: doc as Record<string, unknown>} : {doc: {}, damaged: `it holds ${JSON.stringify(doc)?.slice(0, 40)}, not an object`}
}

/**
 * env.json keeps the first session's environment and lists each resume's backend, commit, machine
 * and command. A damaged env.json is kept beside it (`env.json.corrupt-<stamp>`), never overwritten,
 * and a new one starts from this resume; what happened is returned, for the run's log.
 */
export function recordResume(runDir: string, backend: BackendChoice, resume: {after_epoch: number; from: string; epochs?: {from: number; to: number}; config_edited?: boolean}, dataSource?: string): string | undefined {
  const file = join(runDir, 'env.json')
  const {damaged, ...read} = readEnvDocument(runDir)
  let doc = read.doc
  let note: string | undefined
  if (damaged !== undefined) {
    const aside = `env.json.corrupt-${stamp()}`
    renameSync(file, join(runDir, aside))
    doc = {earlier_env: aside}
    note = `env.json could not be read (${damaged}): kept as ${aside}, and a new env.json records this resume`
  }
  const {backend: b, git, host, command, cwd} = environment(backend)
  // Where the data are read now, where it is not where they were (a root moved, read from --data-dir).
  const moved = dataSource !== undefined && dataSource !== recordedDataSource(doc) ? {data_source: dataSource} : {}
  const resumed = Array.isArray(doc.resumed) ? doc.resumed : []
  resumed.push({at: new Date().toISOString(), ...resume, ...moved, backend: b, git, host, command, cwd})
  writeFileAtomic(file, `${JSON.stringify({...doc, resumed}, null, 2)}\n`)
  return note
}

/**
 * Where a run last read its data (a folder, or what the dataset says of its source): the last
 * resume's `data_source` that records one (the data moved), else the run's own; from env.json's
 * document, or the run folder's env.json (undefined where it records none, or cannot be read).
 */
export function recordedDataSource(env: Record<string, unknown> | string): string | undefined {
  const doc = typeof env === 'string' ? readEnvDocument(env).doc : env
  const resumed = Array.isArray(doc.resumed) ? (doc.resumed as unknown[]) : []
  const moved = resumed.map((r) => (r !== null && typeof r === 'object' ? (r as {data_source?: unknown}).data_source : undefined)).filter((s): s is string => typeof s === 'string').at(-1)
  const source = moved ?? doc.data_source
  return typeof source === 'string' ? source : undefined
}

/** The folder the run in `runDir` last read its data from (recordedDataSource), where that is a folder's path: a generated dataset's source is words. */
export function recordedDataFolder(runDir: string): string | undefined {
  const source = recordedDataSource(runDir)
  return source !== undefined && isAbsolute(source) ? source : undefined
}

/** The epochs after which the run restarted from best.ckpt (`--resume --from-best`), as env.json's resumes record them. */
export function bestRestarts(runDir: string): number[] {
  const resumed = readEnvDocument(runDir).doc.resumed
  return Array.isArray(resumed) ? resumed.filter((r) => r?.from === 'best.ckpt' && Number.isInteger(r.after_epoch)).map((r) => r.after_epoch as number) : []
}
