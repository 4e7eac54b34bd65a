import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { abandonedTempFolders, ownedTempPrefix, tempFolderOwner } from '../src/domain/temp-folders.js';

describe('temp folders of gone processes', () => {
  const self = { pid: 4242, token: 'aaaaaaaa' };
  const alive = new Set([4242, 77]);
  const isAlive = (pid: number) => alive.has(pid);
  const named = (kind: 'restore' | 'files' | 'diff', pid: number, token = '0123abcd') => `${ownedTempPrefix(kind, { pid, token })}Xy9zQ1`;

  test('the name records its owner; names without one have none', () => {
    assert.equal(named('restore', 123), 'seedvault-restore-123-0123abcd-Xy9zQ1');
    assert.deepEqual(tempFolderOwner(named('diff', 123)), { pid: 123, token: '0123abcd' });
    for (const other of ['seedvault-restore-Xy9zQ1', 'seedvault-download-123-0123abcd-Xy9zQ1', 'seedvault-restore-123-0123abcd-Xy9zQ1/x', 'seedvault-restore-0-0123abcd-Xy9zQ1', 'seedvault-restore-123-0123ABCD-Xy9zQ1', 'tmp-123']) {
      assert.equal(tempFolderOwner(other), null, other);
    }
  });

  test("a dead pid's folders go; a live pid's, this process's and unowned ones stay", () => {
    const names = [
      named('restore', 9001), named('files', 9001), named('diff', 9002), // dead
      named('restore', 77), // alive, another process
      named('restore', self.pid, self.token), // this process
      'seedvault-restore-Xy9zQ1', 'seedvault-download-Ab12Cd', 'unrelated',
    ];
    assert.deepEqual(abandonedTempFolders(names, self, isAlive), [named('restore', 9001), named('files', 9001), named('diff', 9002)]);
  });

  test("this pid with another token is an earlier process that had the same pid (a restarted container): it goes", () => {
    assert.deepEqual(abandonedTempFolders([named('restore', self.pid, 'bbbbbbbb'), named('restore', self.pid, self.token)], self, isAlive), [named('restore', self.pid, 'bbbbbbbb')]);
  });
});
