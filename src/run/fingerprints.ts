/**
 * What a run's evaluated numbers depend on besides its spec and its numerics (numerics.json): the
 * images and labels of the splits it evaluated on, and the code of its plugin files. summary.json
 * records a short hash of each (`fingerprints`) when training starts; `mixture eval` hashes them
 * again, so that numbers that differ from training's are put down to what changed, not guessed at.
 */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import type {DatasetSplit} from '../registry/registry.js'

export interface Fingerprints {
  /** Per split (`train`, `test`, and `val` where one was held out): a hash of its images and labels (runs before the train hash have val and test only). */
  data: {train?: string; val?: string; test: string}
  /** Per plugin file (absolute path, as config.yaml lists it): a hash of its contents; null where it could not be read. */
  plugins: Record<string, string | null>
}

function shortHash(...parts: NodeJS.ArrayBufferView[]): string {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return hash.digest('hex').slice(0, 16)
}

/** The hash of a split's images and labels, in their order; hashed once per split (a resume checks the splits that training then records). */
export function splitFingerprint(split: DatasetSplit): string {
  let hash = splitHashes.get(split)
  if (hash === undefined) {
    hash = shortHash(split.images, split.labels)
    splitHashes.set(split, hash)
  }
  return hash
}

/** Each split's hash, by the split (a loaded split's images and labels are not written to afterwards). */
const splitHashes = new WeakMap<DatasetSplit, string>()

/** The hash of each plugin file's contents (null where it cannot be read). */
export function pluginFingerprints(files: readonly string[]): Record<string, string | null> {
  return Object.fromEntries(
    files.map((file) => {
      try {
        return [file, shortHash(readFileSync(file))]
      } catch {
        return [file, null]
      }
    }),
  )
}

/** The fingerprints of a run as it trains: its splits and its plugin files. */
export function runFingerprints(splits: {train: DatasetSplit; val?: DatasetSplit; test: DatasetSplit}, plugins: readonly string[]): Fingerprints {
  return {data: {train: splitFingerprint(splits.train), ...(splits.val ? {val: splitFingerprint(splits.val)} : {}), test: splitFingerprint(splits.test)}, plugins: pluginFingerprints(plugins)}
}

/** The splits whose images or labels differ from those `recorded` (a run's summary.json), of those both have. */
export function changedSplits(recorded: Fingerprints | undefined, now: Fingerprints['data']): ('train' | 'val' | 'test')[] {
  if (!recorded) return []
  return (['train', 'val', 'test'] as const).filter((s) => recorded.data[s] !== undefined && now[s] !== undefined && recorded.data[s] !== now[s])
}

/**
 * What changed between the fingerprints training recorded and those of now, in words: the images of
 * `split` (eval has compared their count first), and each recorded plugin file changed or unreadable.
 * Empty where nothing did (or nothing was recorded).
 */
export function fingerprintChanges(recorded: Fingerprints | undefined, now: {split: 'val' | 'test'; data: string; plugins: Record<string, string | null>}): string[] {
  if (!recorded) return []
  const changes: string[] = []
  const before = recorded.data[now.split]
  if (before !== undefined && before !== now.data) changes.push(`the ${now.split} split's images or labels are not those the run trained with (same count, other contents)`)
  for (const [file, hash] of Object.entries(recorded.plugins)) {
    if (!(file in now.plugins)) continue
    if (now.plugins[file] === null) changes.push(`the plugin file ${file} cannot be read now`)
    else if (hash !== now.plugins[file]) changes.push(`the plugin file ${file} changed since the run trained`)
  }
  return changes
}
