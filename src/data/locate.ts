/**
 * Where dataset files are looked for. An explicit directory (`--data-dir`, or `data.data_dir` in
 * the spec) is the only place searched when one is given: it is used or refused, naming what is
 * missing there, never silently replaced by another copy. Otherwise:
 *   1. the directories in the environment variable MIXTURE_DATA (separated by ':'),
 *   2. the per-user cache `$XDG_CACHE_HOME/mixture-models/datasets`
 *      (default `~/.cache/mixture-models/datasets`),
 * each with a per-dataset subfolder: `<dir>/cifar10/`, or the folder the official archive unpacks
 * to (`<dir>/cifar-10-batches-bin/`, `<dir>/cifar-100-binary/`, `<dir>/stl10_binary/`); then a
 * few system folders (Debian's `dataset-fashion-mnist` package
 * installs `/usr/share/datasets/fashion-mnist/`). Files lying directly in a data directory (no
 * subfolder) are accepted only for the explicit one.
 */
import {statSync} from 'node:fs'
import {homedir} from 'node:os'
import {delimiter, isAbsolute, join, resolve} from 'node:path'

import {DATASETS, LAYOUTS} from './catalog.js'
import {DataError} from './errors.js'
import {isFolder} from '../fs/is-folder.js'

export interface DataDirEntry {
  dir: string
  /** Why this directory is searched, for messages: "--data-dir", "MIXTURE_DATA", "user cache". */
  origin: string
}

/** `$XDG_CACHE_HOME/mixture-models/datasets`, or `~/.cache/mixture-models/datasets`. */
export function userCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache')
  return join(base, 'mixture-models', 'datasets')
}

/** The data directories in search order, each with where it came from. */
export function dataDirEntries(explicit: Array<string | undefined> = []): DataDirEntry[] {
  const out: DataDirEntry[] = []
  const seen = new Set<string>()
  const add = (dir: string, origin: string) => {
    const abs = resolve(dir)
    if (seen.has(abs)) return
    seen.add(abs)
    out.push({dir: abs, origin})
  }
  for (const e of explicit) if (e) add(e, '--data-dir')
  for (const e of (process.env.MIXTURE_DATA ?? '').split(delimiter)) if (e.trim()) add(e.trim(), 'MIXTURE_DATA')
  add(userCacheDir(), 'user cache')
  return out
}

/** The data directories searched, in order: `explicit`, then MIXTURE_DATA, then the user cache. */
export function defaultDataDirs(explicit?: string): string[] {
  return dataDirEntries([explicit]).map((e) => e.dir)
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

/** Candidate folders for one dataset, in search order. */
export function candidateDirs(name: string, bases: DataDirEntry[]): string[] {
  const layout = LAYOUTS[name]
  const out: string[] = []
  for (const b of bases) {
    for (const d of layout.dirNames) out.push(join(b.dir, d))
    // files directly in the folder: only for a folder named explicitly, since several datasets
    // share file names (MNIST and Fashion-MNIST)
    if (b.origin === '--data-dir') out.push(b.dir)
  }
  // an explicit directory is the only place searched
  if (!bases.some((b) => b.origin === '--data-dir')) out.push(...layout.systemDirs)
  return [...new Set(out)]
}

/** How to get the files without putting them in place by hand, where the dataset can be fetched. */
export function fetchHint(name: string, dataDir?: string): string {
  if (!LAYOUTS[name]?.download) return ''
  return ` Or download them: mixture data fetch ${name}${dataDir ? ` --data-dir ${dataDir}` : ''}.`
}

export interface Located {
  dir: string
  /** canonical file name → absolute path of the file found (possibly an accepted alias). */
  paths: Record<string, string>
}

/** Looks for one file under its canonical name or an accepted alias. */
function findFile(dir: string, canonical: string, aliases: Record<string, string[]>): string | undefined {
  for (const n of [canonical, ...(aliases[canonical] ?? [])]) {
    const p = join(dir, n)
    if (isFile(p)) return p
  }
  return undefined
}

function listNames(names: string[]): string {
  if (names.length <= 1) return names.join('')
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
}

/** The official splits whose files a load reads: both, or the test split's alone (no training images wanted). */
export type OfficialSplits = 'train+test' | 'test'

/** The files of `name` that `splits` need. */
function filesOf(name: string, splits: OfficialSplits): string[] {
  const info = DATASETS[name]
  return splits === 'test' ? [...info.files.test] : [...info.files.train, ...info.files.test]
}

/** Text shared by every "files are missing" message: which files, where, and how to choose the place. */
export function whereToPutFiles(name: string, bases: DataDirEntry[], splits: OfficialSplits = 'train+test'): string {
  const layout = LAYOUTS[name]
  const files = filesOf(name, splits)
  const folder = layout.dirNames.find((d) => !d.includes('/')) ?? name
  const gz = files.some((f) => f.endsWith('.gz')) ? ' (gzip\'d or not)' : ''
  const dirs = bases.map((b) => `${b.dir} (${b.origin})`).join(', ')
  const example = join(bases[0]?.dir ?? userCacheDir(), folder, files[0])
  const sys = layout.systemDirs.length > 0 ? ` They are also read from ${layout.systemDirs.join(', ')}.` : ''
  return `Put the files ${listNames(files)}${gz} in a folder named ${folder}/ under one of the data directories searched: ${dirs}; for example ${example}.${sys}${filesSource(name)} Choose the data directory with --data-dir <dir> (or data.data_dir in the spec) or the environment variable MIXTURE_DATA=<dir>.`
}

/** Where the official files come from, as a sentence with a leading space (empty when unknown). */
function filesSource(name: string): string {
  const info = DATASETS[name]
  const layout = LAYOUTS[name]
  const archiveDir = layout.download?.kind === 'tar.gz' ? layout.download.archiveDir : undefined
  if (archiveDir) return ` The files come from the official archive ${info.url} (unpacking it gives a folder ${archiveDir}/, which may be put under the data directory as it is).`
  return info.url ? ` The files are published at ${info.url}.` : ''
}

/**
 * Where a folder searched holds another published version of the dataset (CIFAR's python or MATLAB
 * version), which is not read: a sentence saying so, with a leading space; empty where none is found.
 */
function otherVersionNote(name: string, bases: DataDirEntry[]): string {
  const versions = LAYOUTS[name].otherVersions ?? []
  const places = [...new Set(bases.flatMap((b) => [b.dir, ...LAYOUTS[name].dirNames.map((d) => join(b.dir, d))]))]
  for (const v of versions) {
    const found = places.flatMap((p) => [join(p, v.dirName), p]).find((dir) => statSync(join(dir, v.marker), {throwIfNoEntry: false})?.isFile())
    if (found) return ` ${found} holds the ${v.what} of ${name}, which is not read: only its binary version is (${DATASETS[name].url}).`
  }
  return ''
}

/**
 * Finds the folder holding all of a dataset's files — or, with `splits` 'test' (no training images
 * wanted: an evaluation of the test split), the test split's files — or throws a DataError saying
 * which files to put where.
 */
export function locateDataset(name: string, explicit: Array<string | undefined> = [], splits: OfficialSplits = 'train+test'): Located {
  const layout = LAYOUTS[name]
  const given = explicit.filter((e): e is string => Boolean(e))
  const bases = given.length > 0 ? dataDirEntries(given).filter((b) => b.origin === '--data-dir') : dataDirEntries()
  const wanted = filesOf(name, splits)
  let partial: {dir: string; found: string[]; missing: string[]} | undefined
  for (const dir of candidateDirs(name, bases)) {
    if (!isFolder(dir)) continue
    const paths: Record<string, string> = {}
    const missing: string[] = []
    for (const f of wanted) {
      const p = findFile(dir, f, layout.aliases)
      if (p) paths[f] = p
      else missing.push(f)
    }
    if (missing.length === 0) return {dir, paths}
    const found = Object.keys(paths)
    if (found.length > 0 && !partial) partial = {dir, found, missing}
  }
  // Said where only the test split's files are looked for, so that a message naming them is not read as the dataset's whole.
  const testOnly = splits === 'test' ? ' (the test split\'s files: no training images are read)' : ''
  if (given.length > 0) {
    // An explicit directory is used or refused, never replaced by another copy.
    const dirs = bases.map((b) => b.dir)
    const what = partial ? `${partial.dir} holds ${listNames(partial.found)} but not ${listNames(partial.missing)}${testOnly}` : `it holds none of ${listNames(wanted)}${testOnly} (looked in ${listNames(candidateDirs(name, bases))})`
    throw new DataError(
      `Dataset '${name}' ${partial ? 'is incomplete in' : 'is not in'} the data directory given (${listNames(dirs)}, from --data-dir or data.data_dir): ${what}. ` +
        `An explicit data directory is used or refused, never replaced by another copy: put the files there (in it, or in a folder ${layout.dirNames.find((d) => !d.includes('/')) ?? name}/ inside it), ` +
        `or leave out --data-dir and data.data_dir to search MIXTURE_DATA, the user cache ${userCacheDir()}${layout.systemDirs.length > 0 ? ` and ${layout.systemDirs.join(', ')}` : ''}.${otherVersionNote(name, bases)}${filesSource(name)}${fetchHint(name, dirs[0])}`,
    )
  }
  if (partial) {
    throw new DataError(
      `Dataset '${name}' is incomplete: ${partial.dir} holds ${listNames(partial.found)} but not ${listNames(partial.missing)}${testOnly}. ` +
        whereToPutFiles(name, bases, splits) +
        fetchHint(name),
    )
  }
  throw new DataError(`Dataset '${name}' was not found.${otherVersionNote(name, bases)} ${whereToPutFiles(name, bases, splits)}${fetchHint(name)}`)
}

