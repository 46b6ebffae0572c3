/**
 * Whether a command could be started, without starting it: the file `spawn` would run exists, is a
 * regular file and is executable by this process. A command with a path separator is taken relative to
 * `cwd`; a bare name is looked up in the `PATH` the child gets, as `spawn` does (execvp semantics).
 * Nothing is run, so the answer cannot tell whether the program works once started.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * @example
 * await canExecute('node', process.env.PATH, undefined); // true where node is installed
 */
export async function canExecute(command: string, searchPath: string | undefined, cwd: string | undefined): Promise<boolean> {
  const base = cwd ?? process.cwd();
  const candidates = command.includes('/') || command.includes(path.sep)
    ? [path.resolve(base, command)]
    : (searchPath ?? '')
        .split(path.delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => path.resolve(base, dir, command));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return true;
    } catch {
      // not here: the next directory of PATH
    }
  }
  return false;
}
