import { useCallback, useEffect, useState } from 'react';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Loads data when mounted and on `reload()`; keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let current = true;
    setLoading(true);

    load()
      .then(
        (value) => {
          if (current) {
            setData(value);
            setError(null);
          }
        },
        (caught: unknown) => current && setError(caught),
      )
      .finally(() => current && setLoading(false));

    return () => {
      current = false;
    };
    // `load` is a module-level function that never changes; reloads go through `generation`.
  }, [generation]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { data, error, loading, reload };
}
