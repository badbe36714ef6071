/**
 * `~` at the start of a path written in a spec or a `--set`: the user's home folder, as a shell
 * would have expanded it. The shell leaves it alone in `--set data.root=~/images` (a tilde after
 * `=` is expanded only in variable assignments), so the tool does it.
 */
import {homedir} from 'node:os'
import {join} from 'node:path'

/** `~` → the home folder, `~/x` → `<home>/x`; any other path (`~user/x` too) as it is. */
export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path
}
