import {basename} from 'node:path'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {cacheEntries, imageCacheDir, pruneCache, type CacheEntry} from '../../data/image-cache.js'
import {UsageError} from '../../errors.js'

interface Listed {
  file: string
  bytes: number
  last_used: string
  /** `size×size: train 900, test 100`; null for a temporary or unreadable file. */
  holds: string | null
}

interface CacheReport {
  folder: string
  files: Listed[]
  bytes: number
  /** With --clear: what was removed (with --dry-run: what would be). */
  removed?: Listed[]
  removed_bytes?: number
  dry_run?: boolean
}

const megabytes = (bytes: number) => (bytes < 2 ** 20 ? `${(bytes / 2 ** 10).toFixed(1)} KB` : `${(bytes / 2 ** 20).toFixed(1)} MB`)

function listed(entry: CacheEntry): Listed {
  const holds = entry.holds ? `${entry.holds.size}×${entry.holds.size}: ${entry.holds.splits.map(([name, count]) => `${name} ${count}`).join(', ')}` : null
  return {file: entry.file, bytes: entry.bytes, last_used: entry.lastUsed.toISOString(), holds}
}

/** --older-than as days: a number ≥ 0 (fractions allowed), or a UsageError saying what it takes. */
function olderThan(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const days = Number(value)
  if (value.trim() === '' || !Number.isFinite(days) || days < 0) throw new UsageError(`--older-than takes a number of days, 0 or more (e.g. 30, or 0.5 for twelve hours); got "${value}"`)
  return days
}

export default class DataCache extends BaseCommand<typeof DataCache> {
  static summary = "List or clear the decoded-image cache of image_folder datasets."
  static description = [
    "The first run on an image folder decodes every image and keeps the uint8 pixels in the user cache (XDG_CACHE_HOME, else ~/.cache: mixture-models/datasets/image_folder/), one file per folder contents, image size and resizing, so that the next run skips decoding. A changed folder makes a new file and leaves the old one, so files gather: this lists them (each with its folder's name, what it holds, its size and when a run last used it) and --clear removes them.",
    'Removing is safe: a run that needs a removed file decodes its folder again. --older-than keeps the files used in the last N days (fractions too: 0.5 is twelve hours). Files of an earlier cache layout (never read again) and temporary files a killed run left (an hour old or more) go with any --clear; --dry-run lists what would go. Only files named as the cache names them are listed or removed; downloaded datasets (mixture data fetch) are not touched.',
  ].join('\n\n')

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --clear --older-than 30 --dry-run',
    '<%= config.bin %> <%= command.id %> --clear --older-than 30',
    '<%= config.bin %> <%= command.id %> --clear',
  ]

  static flags = {
    clear: Flags.boolean({summary: 'Remove the cache files (all, or with --older-than those not used for that many days).'}),
    'older-than': Flags.string({summary: 'With --clear: only files no run has used for this many days (a number ≥ 0; 0.5 is twelve hours).', dependsOn: ['clear']}),
    'dry-run': Flags.boolean({summary: 'With --clear: list what would be removed, and remove nothing.', dependsOn: ['clear']}),
  }

  async run(): Promise<CacheReport> {
    const {flags} = await this.parse(DataCache)
    const folder = imageCacheDir()
    let entries = cacheEntries(folder)
    const total = (list: {bytes: number}[]) => list.reduce((sum, e) => sum + e.bytes, 0)
    let removed: CacheEntry[] | undefined
    const dryRun = flags['dry-run']
    if (flags.clear) {
      removed = pruneCache(entries, olderThan(flags['older-than']), {dryRun})
      if (!dryRun) entries = entries.filter((e) => !removed!.includes(e))
    }
    const report: CacheReport = {folder, files: entries.map(listed), bytes: total(entries), ...(removed ? {removed: removed.map(listed), removed_bytes: total(removed), ...(dryRun ? {dry_run: true} : {})} : {})}
    if (!this.jsonEnabled()) {
      if (removed && dryRun) for (const e of removed) this.log(`would remove ${basename(e.file)} (${megabytes(e.bytes)}, last used ${e.lastUsed.toISOString().slice(0, 16).replace('T', ' ')})`)
      if (removed) this.log(`${dryRun ? 'would remove' : 'removed'} ${removed.length} file(s), ${megabytes(total(removed))}, from ${folder}${dryRun ? ' (a dry run: nothing was removed)' : ''}`)
      if (entries.length === 0) this.log(`${removed ? 'nothing left in' : 'no cache files in'} ${folder}`)
      else {
        this.log(`${entries.length} file(s), ${megabytes(report.bytes)}, in ${folder} (most recently used first):`)
        for (const [i, entry] of entries.entries()) {
          const what = entry.temporary ? 'a temporary file a write left' : (report.files[i].holds ?? 'an earlier version\'s cache file (never read again)')
          this.log(`  ${basename(entry.file)}  ${megabytes(entry.bytes)}  last used ${report.files[i].last_used.slice(0, 16).replace('T', ' ')}  ${what}`)
        }
      }
    }
    return report
  }
}
