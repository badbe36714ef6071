/**
 * What a table and a report are called. A sweep file's `title:` (index.json `title`) is its
 * table's title: table.md's heading, and the report's heading where every input is such a sweep.
 * A report of other inputs is called "Results: " and what each input is called (its sweep's title,
 * else its folder's name), so that a page made of several folders does not go by the first one's.
 */
import {statSync} from 'node:fs'
import {basename, dirname, resolve} from 'node:path'

import type {RunGroup} from './group.js'
import {nameList} from '../name-list.js'

/** At most this many names are listed in a title; the others are counted. */
const LISTED = 3

/** `a`, `a, b`, `a, b, c`, `a, b, c and 2 more` (each name once). */
export function listNames(names: string[]): string {
  return nameList([...new Set(names)], LISTED)
}

/** The folder an input stands for: itself, or for a run's or sweep's own file (collect.ts), the folder holding it. */
function folderOf(path: string): string {
  const absolute = resolve(path)
  return statSync(absolute).isDirectory() ? absolute : dirname(absolute)
}

/** Each input's title (where it is a sweep folder whose index.json has one), else its folder's name. */
function inputNames(paths: string[], groups: RunGroup[]): {name: string; titled: boolean}[] {
  const sweeps = groups.flatMap((g) => g.runs.flatMap((run) => (run.sweep ? [run.sweep] : [])))
  return paths.map((path) => {
    const folder = folderOf(path)
    const title = sweeps.find((sweep) => sweep.dir === folder && sweep.title !== undefined)?.title
    return title === undefined ? {name: basename(folder), titled: false} : {name: title, titled: true}
  })
}

/** table.md's heading: the inputs' sweep titles, where every input is a sweep that has one; else none. */
export function tableTitle(paths: string[], groups: RunGroup[]): string | undefined {
  const names = inputNames(paths, groups)
  return names.length > 0 && names.every((n) => n.titled) ? listNames(names.map((n) => n.name)) : undefined
}

/** The report's heading: the table's title where it has one, else `Results: ` and each input's title or folder name. */
export function reportTitle(paths: string[], groups: RunGroup[]): string {
  return tableTitle(paths, groups) ?? `Results: ${listNames(inputNames(paths, groups).map((n) => n.name))}`
}
