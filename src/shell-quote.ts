/** A word quoted for bash (single quotes where it holds anything but plain path and option characters): commands the tool prints or writes into job scripts. */
export function shellQuote(text: string): string {
  return /^[\w./:=@%+,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
}
