/** Text rendering of the per-component parameter table. */
import type {ComponentCount} from './build.js'

export function formatCount(n: number): string {
  return n.toLocaleString('en-US')
}

export function paramTable(components: ComponentCount[], total: number): string {
  const rows = components.map((c) => [c.component, formatCount(c.params)])
  rows.push(['total (trainable)', formatCount(total)])
  const w0 = Math.max('component'.length, ...rows.map((r) => r[0].length))
  const w1 = Math.max('params'.length, ...rows.map((r) => r[1].length))
  const line = (a: string, b: string) => `${a.padEnd(w0)}  ${b.padStart(w1)}`
  const out = [line('component', 'params'), `${'-'.repeat(w0)}  ${'-'.repeat(w1)}`]
  rows.forEach((r, i) => {
    if (i === rows.length - 1) out.push(`${'-'.repeat(w0)}  ${'-'.repeat(w1)}`)
    out.push(line(r[0], r[1]))
  })
  return out.join('\n')
}
