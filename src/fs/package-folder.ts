/** Where an installed package lives: up from a file inside it to the package.json that names it. */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The folder of the package `name` that holds the folder `start`; throws where no package.json above it names it. */
export function packageFolder(start: string, name: string): string {
  let dir = start
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as {name?: string}).name === name) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`cannot find the package.json of ${name} above ${start}`)
    dir = parent
  }
}

/** This project's folder (package.json, bin/, native/), the same whether this module runs from dist/src/fs or src/fs. */
export const PACKAGE_ROOT = packageFolder(dirname(fileURLToPath(import.meta.url)), 'mixture-models')
