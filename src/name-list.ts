/** Names for a message: at most `max` of them, then how many more (`a, b, c and 2 more`). */
export function nameList(names: string[], max = 5): string {
  const listed = names.slice(0, max).join(', ')
  return names.length > max ? `${listed} and ${names.length - max} more` : listed
}
