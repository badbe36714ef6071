import {existsSync} from 'node:fs'
import {resolve} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {SpecError} from '../config/errors.js'
import {suggest} from '../config/suggest.js'
import {loadPlugins} from '../config/plugins.js'
import {UsageError} from '../errors.js'
import {allEntries, DATA_KINDS, KINDS, RECIPE_KINDS, type AnyEntry} from '../registry/registry.js'
import {specKeyNames, specKeysMatching, type SpecKey} from '../schema/spec-keys.js'

interface Listed {
  kind: string
  name: string
  summary: string
  paper?: string
  defaults: Record<string, unknown>
  /** The keys the defaults line leaves out (optional ones without a default; nested ones as `synthetic.train`), each with its description. */
  keys: Array<{key: string; description: string}>
  presets: string[]
  source: string
}

function defaultsOf(entry: AnyEntry): Record<string, unknown> {
  const props = (entry.schema.properties ?? {}) as Record<string, {default?: unknown}>
  const required = (entry.schema.required ?? []) as string[]
  // An optional key without a default is listed among the other keys, not as required.
  const shown = Object.entries(props).filter(([k, v]) => v.default !== undefined || required.includes(k))
  const defaults = Object.fromEntries(shown.map(([k, v]) => [k, v.default]))
  // A dataset's fixed facts come first: its class count and the side of its images as published.
  if (entry.kind === 'dataset') return {...(entry.classes ? {classes: entry.classes} : {}), ...(entry.nativeSize ? {native_size: entry.nativeSize} : {}), ...defaults}
  if (entry.kind === 'transform') return {...defaults, applies: entry.applies}
  return defaults
}

/** Every leaf key of a parameter schema (nested objects as dotted paths) that `defaults` does not show. */
function keysOf(schema: AnyEntry['schema'], defaults: Record<string, unknown>, prefix = ''): Listed['keys'] {
  const props = (schema.properties ?? {}) as Record<string, AnyEntry['schema'] & {description?: string}>
  return Object.entries(props).flatMap(([k, v]) => {
    const key = `${prefix}${k}`
    if (key in defaults) return []
    return v.type === 'object' && v.properties ? keysOf(v, defaults, `${key}.`) : [{key, description: v.description ?? ''}]
  })
}

function short(value: unknown): string {
  return value === undefined ? '(required)' : JSON.stringify(value)
}

/** Load one `--plugin` file; what is wrong with it is bad input naming the flag. */
async function loadPlugin(file: string): Promise<void> {
  const path = resolve(file)
  if (!existsSync(path)) throw new UsageError(`--plugin ${file}: no such file (${path})`)
  try {
    await loadPlugins([path], new Map())
  } catch (error) {
    if (error instanceof SpecError) throw new UsageError(`--plugin ${file}: ${error.problems.map((p) => p.message).join('; ')}`)
    throw error
  }
}

export default class List extends BaseCommand<typeof List> {
  static summary = 'List the registered models, blocks, components, adapters, norms, heads, datasets, transforms, optimizers, learning-rate schedules and training losses.'
  static description = 'PATTERN filters by name or kind (substring, case-insensitive). Each entry shows its summary, parameter defaults and presets; a PATTERN that no entry matches is looked for among the spec\'s own keys (mixture list mixup shows train.mixup and its keys). --plugin loads plugin files first (as a spec\'s plugins: does), so that their entries are listed too, with the file they came from.'
  static examples = ['<%= config.bin %> list', '<%= config.bin %> list vit', '<%= config.bin %> list dataset --json', '<%= config.bin %> list transform', '<%= config.bin %> list schedule', '<%= config.bin %> list loss', '<%= config.bin %> list optimizer --plugin configs/examples/plugins/rmsprop.mjs']
  static args = {pattern: Args.string({required: false, description: 'substring of a name or kind'})}
  static flags = {plugin: Flags.string({multiple: true, multipleNonGreedy: true, summary: 'A plugin file to load first (repeatable); paths are relative to the current folder.'})}

  async run(): Promise<Listed[]> {
    const {args, flags} = await this.parse(List)
    for (const file of flags.plugin ?? []) await loadPlugin(file)
    const items: Listed[] = allEntries([...KINDS, ...DATA_KINDS, ...RECIPE_KINDS]).map((e) => {
      const defaults = defaultsOf(e)
      return {kind: e.kind, name: e.name, summary: e.summary, paper: e.paper, defaults, keys: keysOf(e.schema, defaults), presets: Object.keys(e.presets ?? {}), source: e.source ?? 'builtin'}
    })
    const pattern = args.pattern?.toLowerCase()
    const shown = pattern ? items.filter((i) => i.name.toLowerCase().includes(pattern) || i.kind.includes(pattern)) : items
    // Not a registered entry, but perhaps a setting of the spec itself (train.mixup, train.ema): listed as `spec key`s.
    const keys = shown.length === 0 && pattern ? specKeysMatching(pattern) : []
    if (!this.jsonEnabled()) {
      if (shown.length === 0) {
        // The nearest registered name, kind or spec key (early_stoping: early_stopping).
        const guess = keys.length > 0 ? undefined : suggest(pattern!, [...new Set([...items.flatMap((i) => [i.name.toLowerCase(), i.kind]), ...specKeyNames()])])
        this.log(`nothing registered matches "${args.pattern}"${guess ? `; did you mean ${guess}?` : ''}${keys.length > 0 ? `; the spec's own keys that do (mixture schema has them all):` : ''}`)
        for (const key of keys) {
          this.log(`  ${key.path}${key.default !== undefined ? ` (default ${short(key.default)})` : ''}: ${key.description || '(no description)'}`)
          if (key.keys.length > 0) this.log(`    keys: ${key.keys.map((k) => (k.default !== undefined ? `${k.key}=${short(k.default)}` : k.key)).join(' ')}`)
        }
      }
      let kind = ''
      for (const item of shown) {
        if (item.kind !== kind) {
          kind = item.kind
          this.log(`\n${kind}s:`)
        }
        this.log(`  ${item.name.padEnd(22)} ${item.summary}${item.source !== 'builtin' ? ` [${item.source}]` : ''}`)
        const defaults = Object.entries(item.defaults)
        if (defaults.length) this.log(`  ${''.padEnd(22)} ${defaults.map(([k, v]) => `${k}=${short(v)}`).join(' ')}`)
        for (const {key, description} of item.keys) this.log(`  ${''.padEnd(22)} ${key}: ${description || '(optional)'}`)
        if (item.presets.length) this.log(`  ${''.padEnd(22)} presets: ${item.presets.join(', ')}`)
      }
    }
    return shown.length > 0 ? shown : keys.map(asListed)
  }
}

/** A spec key as `--json` lists it, in an entry's shape: kind `spec key`, its path as the name, its keys' defaults. */
function asListed(key: SpecKey): Listed {
  const defaults = Object.fromEntries(key.keys.filter((k) => k.default !== undefined).map((k) => [k.key, k.default]))
  return {kind: 'spec key', name: key.path, summary: key.description, defaults: key.default !== undefined ? {default: key.default} : defaults, keys: key.keys.filter((k) => k.default === undefined).map((k) => ({key: k.key, description: ''})), presets: [], source: 'spec'}
}
