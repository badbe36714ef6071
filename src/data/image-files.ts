/**
 * The image files under a folder, found as torchvision's `ImageFolder` finds them:
 * sorted(os.walk(dir, followlinks=True)), each folder's files sorted by code point (Python's order),
 * hidden folders skipped. The training data (image-folder.ts) and `mixture predict`'s folders both
 * take their images from here.
 */
import {readdirSync, realpathSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {DataError} from './errors.js'
import {isFolder} from '../fs/is-folder.js'
import {isImageFile} from './images.js'

/**
 * Python's order of strings, by code point, as torchvision's sorted() gives it. JavaScript's sort
 * compares UTF-16 code units, which puts a character past U+FFFF (an emoji) before U+E000–U+FFFF
 * (a ligature): class indices would differ from torchvision's.
 */
export function byCodePoint(a: string, b: string): number {
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    const x = a.codePointAt(i)!
    const y = b.codePointAt(j)!
    if (x !== y) return x - y
    i += x > 0xffff ? 2 : 1
    j += y > 0xffff ? 2 : 1
  }
  return a.length - b.length
}

/**
 * The image files under `dir` in `ImageFolder`'s order: sorted(os.walk(dir, followlinks=True)), each
 * folder's files sorted. A link back to a folder being walked (a loop, which would count its images
 * again and again, under this class) and an image name on something that is not a regular file (a
 * FIFO would block the read for good) are DataErrors.
 */
export function imageFilesUnder(dir: string): {files: string[]; ignored: number} {
  const folders: Array<{dir: string; files: string[]}> = []
  let ignored = 0
  const walking: string[] = []
  const walk = (d: string) => {
    const real = realpathSync(d)
    if (walking.includes(real)) throw new DataError(`${d} links back to ${real}, a folder it is inside of: remove the link (images under a symlink loop would be counted again and again)`)
    walking.push(real)
    const files: string[] = []
    for (const entry of readdirSync(d, {withFileTypes: true})) {
      const p = join(d, entry.name)
      if (entry.isDirectory() || (entry.isSymbolicLink() && isFolder(p))) {
        if (!entry.name.startsWith('.')) walk(p)
      } else if (isImageFile(entry.name)) {
        if (!entry.isFile() && !entry.isSymbolicLink()) throw new DataError(`${p} is not a regular file (a FIFO, socket or device) though its name is an image's; remove it`)
        if (entry.isSymbolicLink() && isSpecialFile(p)) throw new DataError(`${p} links to something that is not a regular file (a FIFO, socket or device); remove it`)
        files.push(entry.name)
      } else {
        ignored++
      }
    }
    walking.pop()
    folders.push({dir: d, files: files.sort(byCodePoint)})
  }
  walk(dir)
  folders.sort((a, b) => byCodePoint(a.dir, b.dir))
  return {files: folders.flatMap((f) => f.files.map((n) => join(f.dir, n))), ignored}
}

/** Whether `p` (followed) exists and is neither a regular file nor a folder; a dangling link is not (reading it says so). */
function isSpecialFile(p: string): boolean {
  try {
    const stat = statSync(p)
    return !stat.isFile() && !stat.isDirectory()
  } catch {
    return false
  }
}
