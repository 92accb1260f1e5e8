// reg.exe command lines as argv arrays (run without a shell, so no quoting is involved).

/** A command line: the program, then its arguments. */
export type Argv = [file: string, ...args: string[]];

/** `reg add` argv that points the key's default value at the manifest (`/f`: overwrite, so install is idempotent). */
export function regAddArgv(key: string, manifestPath: string): Argv {
  return ['reg', 'add', key, '/ve', '/t', 'REG_SZ', '/d', manifestPath, '/f'];
}

/** `reg delete` argv that removes the key without prompting. */
export function regDeleteArgv(key: string): Argv {
  return ['reg', 'delete', key, '/f'];
}

/** `reg query` argv that lists only the key's default value. */
export function regQueryArgv(key: string): Argv {
  return ['reg', 'query', key, '/ve'];
}

/** The default value from `reg query … /ve` output; null when the output holds none. */
export function parseRegQueryDefault(stdout: string): string | null {
  // The value's label is localized ("(Default)", "(Standard)", …), so match on the type column.
  for (const line of stdout.split(/\r?\n/)) {
    const match = /^\s+\S.*?\s{2,}REG_(?:EXPAND_)?SZ\s{2,}(.*?)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[1] !== '') return match[1];
  }
  return null;
}
