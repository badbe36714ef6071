/**
 * The browser builds of Vega, Vega-Lite and vega-embed, read from the installed packages so that
 * the HTML report can inline them: the page then draws its charts with no network. Each package
 * names its browser build (a UMD script defining a global) in package.json's `jsdelivr` field.
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** In the order the page must load them: vega-lite needs `vega`, vega-embed both. */
export const BROWSER_PACKAGES = ['vega', 'vega-lite', 'vega-embed'] as const

export interface BrowserBundle {
  name: (typeof BROWSER_PACKAGES)[number]
  version: string
  source: string
}

/** The folder of an installed package: up from its entry point to the package.json that names it. */
function packageRoot(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as {name?: string}).name === name) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`cannot find the package.json of ${name}`)
    dir = parent
  }
}

let cache: BrowserBundle[] | undefined

/** The three browser builds (read once per process). */
export function browserBundles(): BrowserBundle[] {
  cache ??= BROWSER_PACKAGES.map((name) => {
    const root = packageRoot(name)
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {version: string; jsdelivr?: string; unpkg?: string}
    const build = pkg.jsdelivr ?? pkg.unpkg
    if (!build) throw new Error(`${name} ${pkg.version} names no browser build (jsdelivr/unpkg in its package.json)`)
    return {name, version: pkg.version, source: readFileSync(join(root, build), 'utf8')}
  })
  return cache
}
