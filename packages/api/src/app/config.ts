/**
 * ctrl-exec.conf for the API: core's parser, plus `api_port = 0` (listen on any free port,
 * printed at start), which tests and supervisors that pass the port on need and which
 * core's range check (1-65535) refuses.
 */
import {
  defaultDispatcherConfigPath,
  parseDispatcherConfig,
  readConfigFile,
  splitConfigLines,
  type LoadConfigOptions,
  type ParsedDispatcherConfig,
} from '@ctrl-exec/core';

const API_PORT_LINE = /^api_port\s*=\s*(.+?)\s*$/;

/** Parse ctrl-exec.conf text; an `api_port` of 0 gives `apiPort` 0. */
export function parseApiConfig(text: string, file: string): ParsedDispatcherConfig {
  const lines = splitConfigLines(text);
  let last: number | undefined;
  lines.forEach((l, i) => {
    if (API_PORT_LINE.test(l.text)) last = i;
  });
  const value = last === undefined ? undefined : API_PORT_LINE.exec(lines[last]!.text)?.[1];
  if (last === undefined || value === undefined || !/^0+$/.test(value)) return parseDispatcherConfig(text, file);
  // Parse with a valid port on that line (same line numbers), then put the 0 back.
  const patched = lines.map((l, i) => (i === last ? 'api_port = 7445' : l.text)).join('\n');
  const parsed = parseDispatcherConfig(`${patched}\n`, file);
  parsed.config.apiPort = 0;
  return parsed;
}

/** Read ctrl-exec.conf from `path`, else $CTRL_EXEC_CONFIG, else /etc/ctrl-exec/ctrl-exec.conf. */
export function loadApiConfig(path?: string, options: LoadConfigOptions = {}): ParsedDispatcherConfig {
  const file = path ?? defaultDispatcherConfigPath(options.env);
  return parseApiConfig(readConfigFile(file), file);
}
