/**
 * The browser builds of Vega, Vega-Lite and vega-embed, read from the installed packages so that
 * the HTML report can inline them: the page then draws its charts with no network. Each package
 * names its browser build (a UMD script defining a global) in package.json's `jsdelivr` field.
 */
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {packageFolder} from '../fs/package-folder.js'

/** In the order the page must load them: vega-lite needs `vega`, vega-embed both. */
export const BROWSER_PACKAGES = ['vega', 'vega-lite', 'vega-embed'] as const

export interface BrowserBundle {
  name: (typeof BROWSER_PACKAGES)[number]
  version: string
  source: string
}

let cache: BrowserBundle[] | undefined

/** The three browser builds (read once per process). */
export function browserBundles(): BrowserBundle[] {
  cache ??= BROWSER_PACKAGES.map((name) => {
    const root = packageFolder(dirname(fileURLToPath(import.meta.resolve(name))), name)
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {version: string; jsdelivr?: string; unpkg?: string}
    const build = pkg.jsdelivr ?? pkg.unpkg
    if (!build) throw new Error(`${name} ${pkg.version} names no browser build (jsdelivr/unpkg in its package.json)`)
    return {name, version: pkg.version, source: readFileSync(join(root, build), 'utf8')}
  })
  return cache
}
