/**
 * A one-line progress display on stderr: redrawn in place on a terminal, one line per
 * change otherwise (so CI logs and pipes stay readable).
 */
export class ProgressLine {
  private last = '';

  update(text: string): void {
    if (text === this.last) return;
    this.last = text;
    if (process.stderr.isTTY) process.stderr.write(`\r\u001b[2K${text}`);
    else process.stderr.write(`${text}\n`);
  }

  done(): void {
    if (process.stderr.isTTY && this.last) process.stderr.write('\n');
  }
}
