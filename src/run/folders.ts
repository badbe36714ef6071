/**
 * Creating run folders without races, telling one from a folder that is not, naming one set aside,
 * and tidying one before it is continued. A folder is made with a plain `mkdir` of its final name
 * (which fails if the name exists, however close two processes come), taking the next free suffix
 * `-2`, `-3`, … when it does.
 */
import {createHash} from 'node:crypto'
import {accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {parse as parseYaml, stringify as yamlStringify} from 'yaml'
import {UsageError} from '../errors.js'
import {writeFileAtomic} from '../fs/write-atomic.js'
import type {ResolvedSpec} from '../schema/spec.js'

/** A sweep folder's list of its points (sweep/records.ts): a run folder beside one is a point of that sweep. */
export const INDEX_FILE = 'index.json'

/** The lock a process holds while it trains in a run folder. */
export const RUN_LOCK = 'run.lock'

/** A run folder's checkpoints: after its last checkpointed epoch, and after its best. */
export const LAST_CKPT = 'last.ckpt'
export const BEST_CKPT = 'best.ckpt'

/** The checkpoint file of each choice `--ckpt` offers. */
export const CHECKPOINT_FILES = {best: BEST_CKPT, last: LAST_CKPT} as const

/** Local time as `YYYYMMDD-HHMMSS`: run folder names, set-aside files. */
export function stamp(date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`
}

/** The name of a folder set aside (`<folder>.old-<UTC stamp>[-n]`): a sweep point trained anew keeps its earlier folder so. */
export const SET_ASIDE = /\.old-\d{8}T\d{6}(-\d+)?$/

/** A free name to set `dir` aside under (two set-asides within a second take `-2`, `-3`, …); matches SET_ASIDE. */
export function setAsideName(dir: string): string {
  const utc = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')
  let aside = `${dir}.old-${utc}`
  for (let n = 2; existsSync(aside); n++) aside = `${dir}.old-${utc}-${n}`
  return aside
}

/** config.yaml: the run's resolved spec, with how to run it again. */
export function writeRunConfig(runDir: string, spec: ResolvedSpec): void {
  writeFileAtomic(join(runDir, 'config.yaml'), `# Resolved spec of this run (extends and overrides applied, defaults filled).\n# Reproduce: mixture run <this folder>/config.yaml\n${yamlStringify(spec)}`)
}

/** The run's config.yaml as written (a mapping; its values unchecked), or undefined where it cannot be read or is not one. */
export function readRunConfig(runDir: string): Record<string, unknown> | undefined {
  try {
    const config: unknown = parseYaml(readFileSync(join(runDir, 'config.yaml'), 'utf8'))
    return config !== null && typeof config === 'object' && !Array.isArray(config) ? (config as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** SHA-256 (hex) of the run's config.yaml as it is now (summary.json records the one the run trains under); undefined where it cannot be read. */
export function runConfigHash(runDir: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(join(runDir, 'config.yaml'))).digest('hex')
  } catch {
    return undefined
  }
}

/**
 * The run folder `dir` resolved, with its config.yaml, or a UsageError saying why it is not one;
 * `doing` ("cannot resume") opens the message where a command's own words say more.
 */
export function runFolder(dir: string, doing = ''): {runDir: string; configFile: string} {
  const runDir = resolve(dir)
  const opening = doing ? `${doing} ${runDir}: it` : runDir
  if (!existsSync(runDir)) throw new UsageError(`${opening} does not exist: give a run folder (results/<name>/<stamp>-<hash>/, the folder that holds config.yaml, metrics.csv and the checkpoints)`)
  if (!statSync(runDir).isDirectory()) throw new UsageError(`${opening} is a file, not a run folder: give the folder that holds config.yaml, metrics.csv and the checkpoints`)
  const configFile = join(runDir, 'config.yaml')
  if (!existsSync(configFile) || !statSync(configFile).isFile()) {
    throw new UsageError(`${opening} is not a run folder: it has no config.yaml. Give one run's folder (results/<name>/<stamp>-<hash>/); a sweep's index.json lists its runs`)
  }
  return {runDir, configFile}
}

/**
 * Why run folders cannot be made in `dir` (`<out>/<name>`), as a UsageError — a file where a folder
 * belongs, no permission, a read-only disk — found before a run loads its data, without making
 * anything: the nearest existing folder on the way must be a folder this user may write in.
 */
export function checkOutputFolder(dir: string): void {
  let existing = dir
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing)
  try {
    if (!statSync(existing).isDirectory()) throw Object.assign(new Error(`${existing} is a file`), {code: existing === dir ? 'EEXIST' : 'ENOTDIR'})
    accessSync(existing, constants.W_OK)
  } catch (error) {
    throw outputFolderError(dir, error as NodeJS.ErrnoException)
  }
}

/** Make `dir` and its parents; a reason it cannot be made is a UsageError (outputFolderError). */
function makeOutputFolder(dir: string): void {
  try {
    mkdirSync(dir, {recursive: true})
  } catch (error) {
    throw outputFolderError(dir, error as NodeJS.ErrnoException)
  }
}

function outputFolderError(dir: string, error: NodeJS.ErrnoException): Error {
  const why: Record<string, string> = {
    EEXIST: 'a file stands where a folder of that path belongs',
    ENOTDIR: 'a file stands where a folder of that path belongs',
    EACCES: 'this user may not write there',
    EPERM: 'this user may not write there',
    EROFS: 'the disk is read-only',
    ENOSPC: 'the disk is full',
  }
  const reason = error.code ? why[error.code] : undefined
  if (!reason) return error
  return new UsageError(`cannot make run folders in ${dir}: ${reason} (${error.code}); give another folder with --out (or output.dir in the spec)`)
}

/** Create `base` (or `base-2`, `base-3`, … if taken) and return the name made; parents are created as needed. */
export function createUniqueDir(base: string): string {
  makeOutputFolder(dirname(base))
  for (let n = 1; ; n++) {
    const dir = n === 1 ? base : `${base}-${n}`
    try {
      mkdirSync(dir)
      return dir
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw outputFolderError(dirname(base), error as NodeJS.ErrnoException)
    }
  }
}

/** Temp files of writeFileAtomic (`.<name>.tmp-<pid>-<n>`) that a killed writer left behind. */
export const TEMP_FILE = /^\..+\.tmp-\d+-\d+$/

/** Remove leftover temp files from `dir` (call only while holding the folder's lock); returns their names. */
export function removeStaleTemps(dir: string): string[] {
  const stale = readdirSync(dir).filter((f) => TEMP_FILE.test(f))
  for (const f of stale) rmSync(join(dir, f), {force: true})
  return stale
}
