import { useEffect, useId, useState, type FormEvent } from 'react';

import { messageFor } from '../../api/errors';
import { config } from '../../config';
import { ErrorBoundary } from '../../ui/ErrorBoundary';
import { Notice } from '../../ui/Notice';
import { useAction } from '../../ui/useAction';
import { WebcamCapture } from './WebcamCapture';

const ACCEPTED_TYPES = ['image/jpeg', 'image/png', 'image/webp'];

interface PhotoPickerProps {
  /** Label of the file input, e.g. "Photo to verify". */
  label: string;
  submitLabel: string;
  pendingLabel: string;
  disabled?: boolean;
  onSubmit: (photo: File) => Promise<unknown>;
}

function photoProblem(photo: File): string | null {
  if (photo.type && !ACCEPTED_TYPES.includes(photo.type)) {
    return 'This file is not a JPEG, PNG or WebP photo. Choose another file.';
  }
  if (photo.size > config.maxUploadBytes) {
    const limit = Math.round(config.maxUploadBytes / (1024 * 1024));
    return `This photo is too large. Choose one under ${limit} MB.`;
  }
  return null;
}

/** Choose a photo from a file or the webcam, preview it, and send it. */
export function PhotoPicker({
  label,
  submitLabel,
  pendingLabel,
  disabled,
  onSubmit,
}: PhotoPickerProps) {
  const inputId = useId();
  const [photo, setPhoto] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [cameraOpen, setCameraOpen] = useState(false);
  const [inputKey, setInputKey] = useState(0);
  const { pending, error, run } = useAction();

  useEffect(() => {
    if (!photo) {
      setPreview(null);
      return;
    }
    const url = URL.createObjectURL(photo);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [photo]);

  function choose(next: File | null) {
    setProblem(next ? photoProblem(next) : null);
    setPhoto(next);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!photo) {
      setProblem('Choose a photo file or take one with the webcam first.');
      return;
    }
    if (problem) {
      return;
    }
    const sent = await run(() => onSubmit(photo));
    if (sent) {
      setPhoto(null);
      setInputKey((key) => key + 1);
    }
  }

  return (
    <form onSubmit={submit} noValidate className="photo-picker">
      <div className="field">
        <label htmlFor={inputId}>{label}</label>
        <input
          key={inputKey}
          id={inputId}
          type="file"
          accept={ACCEPTED_TYPES.join(',')}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? `${inputId}-problem` : undefined}
          disabled={disabled}
          onChange={(event) => choose(event.target.files?.[0] ?? null)}
        />
        {problem && (
          <p id={`${inputId}-problem`} className="field-error">
            {problem}
          </p>
        )}
      </div>

      {cameraOpen ? (
        <ErrorBoundary
          fallback={(reset) => (
            <div className="notice notice-error" role="alert">
              The camera stopped working. Choose a photo file instead.{' '}
              <button
                type="button"
                className="link"
                onClick={() => {
                  reset();
                  setCameraOpen(false);
                }}
              >
                Close camera
              </button>
            </div>
          )}
        >
          <WebcamCapture
            onCapture={(captured) => {
              choose(captured);
              setCameraOpen(false);
            }}
            onClose={() => setCameraOpen(false)}
          />
        </ErrorBoundary>
      ) : (
        <button
          type="button"
          className="secondary"
          disabled={disabled}
          onClick={() => setCameraOpen(true)}
        >
          Use the webcam
        </button>
      )}

      {preview && photo && (
        <figure className="preview">
          <img src={preview} alt={`Selected photo: ${photo.name}`} />
          <figcaption>{photo.name}</figcaption>
        </figure>
      )}

      <Notice tone="error">{error !== null && messageFor(error)}</Notice>
      <button type="submit" disabled={disabled || pending}>
        {pending ? pendingLabel : submitLabel}
      </button>
    </form>
  );
}
