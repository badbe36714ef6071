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
export function recordResume(runDir: string, backend: BackendChoice, resume: {after_epoch: number; from: string; epochs?: {from: number; to: number}}): void {
  const file = join(runDir, 'env.json')
  let doc: Record<string, unknown>
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch {
    doc = {}
  }
  const {backend: b, git, host, command, cwd} = environment(backend)
  const resumed = Array.isArray(doc.resumed) ? doc.resumed : []
  resumed.push({at: new Date().toISOString(), ...resume, backend: b, git, host, command, cwd})
  writeFileAtomic(file, `${JSON.stringify({...doc, resumed}, null, 2)}\n`)
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
