/** printf-style `%-Ns` padding for table output. */
export function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i < widths.length ? pad(c, widths[i]!) : c)).join(' ').trimEnd();
}
