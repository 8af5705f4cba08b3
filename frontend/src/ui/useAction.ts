import { useCallback, useRef, useState } from 'react';

/**
 * Runs one request at a time for a form: `pending` disables its submit button, and the
 * thrown error is kept for the form to describe. Returns true when the action succeeded.
 */
export function useAction() {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const running = useRef(false);

  const run = useCallback(async (action: () => Promise<unknown>): Promise<boolean> => {
    if (running.current) {
      return false;
    }
    running.current = true;
    setPending(true);
    setError(null);

    try {
      await action();
      return true;
    } catch (caught) {
      setError(caught);
      return false;
    } finally {
      running.current = false;
      setPending(false);
    }
  }, []);

  return { pending, error, setError, run };
}
