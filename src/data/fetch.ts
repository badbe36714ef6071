/**
 * Downloading the official files: `fetchDataset(name)` puts a dataset where `loadDataset` finds
 * it (`<data dir>/<name>/`), downloading from the official address with a progress bar on
 * stderr, checking the published checksum (md5, and sha256 where known) of every download,
 * writing through a temporary name and renaming, and unpacking .tar.gz archives with the
 * built-in tar reader. Offline, it fails with the list of files to put where by hand.
 */
import {createHash} from 'node:crypto'
import {once} from 'node:events'
import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, rename, rmdir, stat, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import cliProgress from 'cli-progress'

import {DATASETS, LAYOUTS, type DownloadFile} from './catalog.js'
import {DataError} from './errors.js'
import {dataDirEntries, locateDataset, whereToPutFiles, type DataDirEntry} from './locate.js'
import {extractTarGz, TarFormatError} from './tar.js'

export interface FetchOptions {
  /** Data directory to download into (default: first of MIXTURE_DATA, then the user cache). */
  dataDir?: string
  log?: (m: string) => void
  /** Draw a progress bar on stderr (only when stderr is a TTY); default true. */
  progress?: boolean
  /**
   * Base address of a mirror holding the same files under their official names; replaces the
   * official folder in every URL. Default: the environment variable MIXTURE_DATA_MIRROR.
   */
  mirror?: string
}

export interface Checksum {
  md5?: string
  sha256?: string
}

/** Hex digests of a file. */
export async function fileDigests(path: string): Promise<{md5: string; sha256: string}> {
  const md5 = createHash('md5')
  const sha = createHash('sha256')
  for await (const chunk of createReadStream(path)) {
    md5.update(chunk as Buffer)
    sha.update(chunk as Buffer)
  }
  return {md5: md5.digest('hex'), sha256: sha.digest('hex')}
}

/** Compares digests with the expected checksum; returns a description of the mismatch, or undefined. */
export function checksumMismatch(actual: {md5: string; sha256: string}, expected: Checksum): string | undefined {
  if (expected.sha256 && actual.sha256 !== expected.sha256.toLowerCase()) return `sha256 ${actual.sha256}, expected ${expected.sha256.toLowerCase()}`
  if (expected.md5 && actual.md5 !== expected.md5.toLowerCase()) return `md5 ${actual.md5}, expected ${expected.md5.toLowerCase()}`
  return undefined
}

/** Checks a file against its checksum; throws a DataError naming the file on mismatch. */
export async function verifyChecksum(path: string, expected: Checksum, hint = ''): Promise<void> {
  const bad = checksumMismatch(await fileDigests(path), expected)
  if (bad) {
    throw new DataError(`File ${path} does not have the published checksum (${bad}): the download is incomplete or corrupt. Delete it and try again.${hint ? ` ${hint}` : ''}`)
  }
}

function mb(n: number): string {
  return (n / 1e6).toFixed(1)
}

/** Thrown (wrapped in a DataError by the caller) when the server cannot be reached at all. */
export class NetworkError extends Error {}

/**
 * Downloads `url` to `dest`: streams to `dest.part-<pid>`, hashing on the way, checks the
 * checksum, then renames. A progress bar is drawn on stderr when `progress` and stderr is a TTY;
 * otherwise `log` gets a line at the start and at the end.
 */
export async function downloadFile(
  url: string,
  dest: string,
  opts: {checksum?: Checksum; progress?: boolean; log?: (m: string) => void; label?: string} = {},
): Promise<void> {
  const log = opts.log ?? (() => undefined)
  const label = opts.label ?? basename(dest)
  let res: Response
  try {
    res = await fetch(url, {redirect: 'follow'})
  } catch (e) {
    const cause = (e as {cause?: {code?: string; message?: string}}).cause
    throw new NetworkError(`cannot reach ${url} (${cause?.code ?? cause?.message ?? (e as Error).message})`, {cause: e})
  }
  if (!res.ok || !res.body) {
    throw new NetworkError(`${url} answered HTTP ${res.status} ${res.statusText}`)
  }
  const total = Number(res.headers.get('content-length')) || 0
  const tmp = `${dest}.part-${process.pid}`
  const md5 = createHash('md5')
  const sha = createHash('sha256')
  const ws = createWriteStream(tmp)
  let wsError: Error | undefined
  ws.on('error', (e) => {
    wsError = e
  })
  const useBar = opts.progress !== false && Boolean(process.stderr.isTTY)
  const bar = useBar
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `${label} [{bar}] {percentage}% | {mbDone}/{mbTotal} MB | ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined
  bar?.start(total || 1, 0, {mbDone: '0.0', mbTotal: total ? mb(total) : '?'})
  if (!bar) log(`downloading ${url}${total ? ` (${mb(total)} MB)` : ''}`)
  let done = 0
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (wsError) throw wsError
      md5.update(chunk)
      sha.update(chunk)
      done += chunk.length
      if (!ws.write(chunk)) await once(ws, 'drain')
      bar?.update(total ? done : 0, {mbDone: mb(done)})
    }
    ws.end()
    await once(ws, 'finish')
    if (wsError) throw wsError
    bar?.stop()
  } catch (e) {
    bar?.stop()
    ws.destroy()
    await unlink(tmp).catch(() => undefined)
    if (e instanceof DataError) throw e
    throw new NetworkError(`the download of ${url} broke off after ${mb(done)} MB (${(e as Error).message})`, {cause: e})
  }
  if (total && done !== total) {
    await unlink(tmp).catch(() => undefined)
    throw new NetworkError(`the download of ${url} stopped at ${done} of ${total} bytes`)
  }
  const bad = checksumMismatch({md5: md5.digest('hex'), sha256: sha.digest('hex')}, opts.checksum ?? {})
  if (bad) {
    await unlink(tmp).catch(() => undefined)
    throw new DataError(
      `The file downloaded from ${url} does not have the published checksum (${bad}); it was deleted. The download was corrupted, or a proxy or mirror served a different file: try again, or fetch the file by hand and check its checksum.`,
    )
  }
  await rename(tmp, dest)
  if (!bar) log(`saved ${dest} (${mb(done)} MB, checksum ok)`)
}

function mirrored(file: DownloadFile, mirror?: string): string {
  if (!mirror) return file.url
  return `${mirror.replace(/\/+$/, '')}/${file.name}`
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p)
    return true
  } catch {
    return false
  }
}

function offlineError(name: string, bases: DataDirEntry[], target: string, e: NetworkError): DataError {
  const dl = LAYOUTS[name].download
  const archive = dl?.kind === 'tar.gz' ? ` Alternatively put the archive ${dl.archive.name} itself into ${target}/ and fetch again: it is checked and unpacked without a download.` : ''
  return new DataError(
    `Could not download dataset '${name}': ${e.message}. If this machine is offline, fetch the files elsewhere and copy them over. ${whereToPutFiles(name, bases)}${archive}`,
    {cause: e},
  )
}

/**
 * Makes dataset `name` available locally and returns the folder holding its files. Files that
 * are already present anywhere in the search path are not downloaded again.
 */
export async function fetchDataset(name: string, opts: FetchOptions = {}): Promise<string> {
  const log = opts.log ?? (() => undefined)
  const info = DATASETS[name]
  if (!info) throw new DataError(`Unknown dataset '${name}'. Known datasets: ${Object.keys(DATASETS).join(', ')}.`)
  const layout = LAYOUTS[name]
  if (!layout.download) {
    log(`${name} is generated in memory; there is nothing to download.`)
    return ''
  }
  const bases = dataDirEntries([opts.dataDir])
  try {
    const found = locateDataset(name, [opts.dataDir])
    log(`${name}: files already present in ${found.dir}`)
    return found.dir
  } catch (e) {
    if (!(e instanceof DataError)) throw e
  }
  const target = join(bases[0].dir, name)
  // The folders made here go again if the download fails before anything is put in them.
  const made = await mkdir(target, {recursive: true})
  const mirror = opts.mirror ?? process.env.MIXTURE_DATA_MIRROR
  const progress = opts.progress
  try {
    if (layout.download.kind === 'files') {
      for (const f of layout.download.files) {
        const dest = join(target, f.name)
        if (await exists(dest)) {
          await verifyChecksum(dest, f, `(${dest} was already present.)`)
          continue
        }
        await downloadFile(mirrored(f, mirror), dest, {checksum: f, progress, log})
      }
    } else {
      const {archive, archiveDir} = layout.download
      const archivePath = join(target, archive.name)
      if (await exists(archivePath)) {
        log(`checking ${archivePath}`)
        await verifyChecksum(archivePath, archive, `(${archivePath} was already present.)`)
      } else {
        await downloadFile(mirrored(archive, mirror), archivePath, {checksum: archive, progress, log})
      }
      const wanted = new Set([...info.files.train, ...info.files.test])
      log(`unpacking ${archivePath}`)
      const written = await unpackMembers(archivePath, archiveDir, wanted, target)
      const missing = [...wanted].filter((f) => !written.includes(join(target, f)))
      if (missing.length > 0) {
        throw new DataError(`The archive ${archivePath} does not contain ${missing.map((m) => `${archiveDir}/${m}`).join(', ')}: it is not the official ${name} archive, or it is truncated. Delete it and try again.`)
      }
      await unlink(archivePath)
      log(`unpacked ${written.length} files into ${target}; removed the archive`)
    }
  } catch (e) {
    if (made !== undefined) await removeEmptyFolders(target, made)
    // With --data-dir the files go there and nowhere else: the hint names only it.
    if (e instanceof NetworkError) throw offlineError(name, opts.dataDir ? bases.slice(0, 1) : bases, target, e)
    throw e
  }
  return locateDataset(name, [target]).dir
}

/** Remove `dir` and its parents up to `top` (the first folder mkdir made) where they are empty. */
async function removeEmptyFolders(dir: string, top: string): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      await rmdir(d)
    } catch {
      return // not empty (a file already there, a partial download kept for a retry), or gone
    }
    if (d === top || dirname(d) === d) return
  }
}

/** Extracts `archiveDir/<file>` for each wanted file name into `target/<file>` (nothing else). */
export async function unpackMembers(archivePath: string, archiveDir: string, wanted: Set<string>, target: string): Promise<string[]> {
  try {
    return await extractTarGz(archivePath, (member) => {
      const m = member.replace(/^\.\//, '')
      const slash = m.lastIndexOf('/')
      const dir = slash < 0 ? '' : m.slice(0, slash)
      const file = m.slice(slash + 1)
      return dir === archiveDir && wanted.has(file) ? join(target, file) : undefined
    })
  } catch (e) {
    if (e instanceof DataError) throw e
    const why = e instanceof TarFormatError ? e.message : `${(e as Error).message}`
    throw new DataError(`The archive ${archivePath} cannot be unpacked (${why}): it is truncated or corrupt. Delete it and try again.`, {cause: e})
  }
}
