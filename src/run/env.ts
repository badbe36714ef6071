/** What `env.json` records: versions, backend, git commit, machine, command line; and each resume's. */
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {cpus, hostname, totalmem, platform, arch} from 'node:os'
import {join} from 'node:path'
import {createRequire} from 'node:module'
import type {BackendChoice} from '../engine/backend.js'
import {writeFileAtomic} from '../fs/write-atomic.js'
import {PACKAGE_ROOT} from '../fs/package-folder.js'

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

/** env.json keeps the first session's environment and lists each resume's backend, commit, machine and command. */
export function recordResume(runDir: string, backend: BackendChoice, resume: {after_epoch: number; from: string; epochs?: {from: number; to: number}}, dataSource?: string): void {
  const file = join(runDir, 'env.json')
  let doc: Record<string, unknown>
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch {
    doc = {}
  }
  const {backend: b, git, host, command, cwd} = environment(backend)
  // Where the data are read now, where it is not where they were (a root moved, read from --data-dir).
  const moved = dataSource !== undefined && dataSource !== recordedDataSource(doc) ? {data_source: dataSource} : {}
  const resumed = Array.isArray(doc.resumed) ? doc.resumed : []
  resumed.push({at: new Date().toISOString(), ...resume, ...moved, backend: b, git, host, command, cwd})
  writeFileAtomic(file, `${JSON.stringify({...doc, resumed}, null, 2)}\n`)
}

/**
 * Where a run last read its data (a folder, or what the dataset says of its source): the last
 * resume's `data_source` that records one (the data moved), else the run's own; from env.json's
 * document, or the run folder's env.json.
 */
export function recordedDataSource(env: Record<string, unknown> | string): string | undefined {
  let doc = typeof env === 'string' ? undefined : env
  if (typeof env === 'string') {
    try {
      doc = JSON.parse(readFileSync(join(env, 'env.json'), 'utf8')) as Record<string, unknown>
    } catch {
      return undefined
    }
  }
  const resumed = Array.isArray(doc!.resumed) ? (doc!.resumed as {data_source?: unknown}[]) : []
  const moved = resumed.map((r) => r?.data_source).filter((s): s is string => typeof s === 'string').at(-1)
  const source = moved ?? doc!.data_source
  return typeof source === 'string' ? source : undefined
}

/** The epochs after which the run restarted from best.ckpt (`--resume --from-best`), as env.json's resumes record them. */
export function bestRestarts(runDir: string): number[] {
  try {
    const resumed = (JSON.parse(readFileSync(join(runDir, 'env.json'), 'utf8')) as {resumed?: unknown}).resumed
    return Array.isArray(resumed) ? resumed.filter((r) => r?.from === 'best.ckpt' && Number.isInteger(r.after_epoch)).map((r) => r.after_epoch as number) : []
  } catch {
    return []
  }
}
