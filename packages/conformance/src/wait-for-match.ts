/**
 * Resolves with the first item `find()` returns, checking now and every time one of `wakers` is called
 * (the owner calls them all when something new arrives); rejects with what `failed()` returns as soon as
 * it is not `undefined`, or after `timeout` ms with `describeMiss()`'s message. Its check leaves `wakers` either way.
 * The one "wait for a matching event with a deadline" of the kit and of tests built on it.
 */
export function waitForMatch<T>(
  wakers: Set<() => void>,
  find: () => T | undefined,
  timeout: number,
  describeMiss: () => string,
  failed?: () => unknown,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = find();
      if (found !== undefined) {
        finish();
        resolve(found);
        return;
      }
      const failure = failed?.();
      if (failure !== undefined) {
        finish();
        reject(failure);
      }
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(describeMiss()));
    }, timeout);
    const finish = () => {
      clearTimeout(timer);
      wakers.delete(check);
    };
    wakers.add(check);
    check();
  });
}
