/** A spec key's dotted path (`model.components[1].dim`), one step at a time. */
export function joinPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`
  return parent ? `${parent}.${key}` : key
}
