import {Args} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {allEntries, type AnyEntry} from '../registry/registry.js'
import {DATASETS} from '../data/catalog.js'
import '../registry/builtins.js'

interface Listed {
  kind: string
  name: string
  summary: string
  paper?: string
  defaults: Record<string, unknown>
  presets: string[]
  source: string
}

function defaultsOf(entry: AnyEntry): Record<string, unknown> {
  const props = (entry.schema.properties ?? {}) as Record<string, {default?: unknown}>
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.default]))
}

function short(value: unknown): string {
  return value === undefined ? '(required)' : JSON.stringify(value)
}

export default class List extends BaseCommand<typeof List> {
  static summary = 'List the registered models, blocks, components, adapters, norms, heads and datasets.'
  static description = 'PATTERN filters by name or kind (substring, case-insensitive). Each entry shows its summary, parameter defaults and presets.'
  static examples = ['<%= config.bin %> list', '<%= config.bin %> list vit', '<%= config.bin %> list dataset --json']
  static args = {pattern: Args.string({required: false, description: 'substring of a name or kind'})}

  async run(): Promise<Listed[]> {
    const {args} = await this.parse(List)
    const items: Listed[] = [
      ...allEntries().map((e) => ({kind: e.kind, name: e.name, summary: e.summary, paper: e.paper, defaults: defaultsOf(e), presets: Object.keys(e.presets ?? {}), source: e.source ?? 'builtin'})),
      ...Object.values(DATASETS).map((d) => ({kind: 'dataset', name: d.name, summary: d.summary, defaults: {classes: d.numClasses, native_size: d.nativeSize}, presets: [], source: 'builtin'})),
    ]
    const pattern = args.pattern?.toLowerCase()
    const shown = pattern ? items.filter((i) => i.name.toLowerCase().includes(pattern) || i.kind.includes(pattern)) : items
    if (!this.jsonEnabled()) {
      if (shown.length === 0) this.log(`nothing registered matches "${args.pattern}"`)
      let kind = ''
      for (const item of shown) {
        if (item.kind !== kind) {
          kind = item.kind
          this.log(`\n${kind}s:`)
        }
        this.log(`  ${item.name.padEnd(22)} ${item.summary}${item.source !== 'builtin' ? ` [${item.source}]` : ''}`)
        const defaults = Object.entries(item.defaults)
        if (defaults.length) this.log(`  ${''.padEnd(22)} ${defaults.map(([k, v]) => `${k}=${short(v)}`).join(' ')}`)
        if (item.presets.length) this.log(`  ${''.padEnd(22)} presets: ${item.presets.join(', ')}`)
      }
    }
    return shown
  }
}
