import { useEffect, useRef, useState } from 'react';

interface WebcamCaptureProps {
  onCapture: (photo: File) => void;
  onClose: () => void;
}

type CameraState =
  { kind: 'starting' } | { kind: 'live' } | { kind: 'unavailable'; message: string };

function cameraProblem(error: unknown): string {
  const name = error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return (
      'Camera access was refused. Allow the camera in your browser settings,' +
      ' or choose a photo file instead.'
    );
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return 'No camera was found on this device. Choose a photo file instead.';
  }
  if (name === 'NotReadableError') {
    return (
      'The camera is busy in another application. Close it there,' +
      ' or choose a photo file instead.'
    );
  }
  return 'The camera could not be started. Choose a photo file instead.';
}

/** Shows the camera and turns one frame into a JPEG photo. */
export function WebcamCapture({ onCapture, onClose }: WebcamCaptureProps) {
  const video = useRef<HTMLVideoElement>(null);
  const [state, setState] = useState<CameraState>({ kind: 'starting' });

  useEffect(() => {
    if (!navigator.mediaDevices?.getUserMedia) {
      setState({
        kind: 'unavailable',
        message:
          'This browser offers no camera here (cameras need HTTPS). Choose a photo file instead.',
      });
      return;
    }

    let stream: MediaStream | null = null;
    let current = true;

    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: 'user', width: { ideal: 1280 } }, audio: false })
      .then((opened) => {
        stream = opened;
        if (!current || !video.current) {
          opened.getTracks().forEach((track) => track.stop());
          return;
        }
        video.current.srcObject = opened;
        setState({ kind: 'live' });
      })
      .catch(
        (error: unknown) =>
          current && setState({ kind: 'unavailable', message: cameraProblem(error) }),
      );

    return () => {
      current = false;
      stream?.getTracks().forEach((track) => track.stop());
    };
  }, []);

  function capture() {
    const frame = video.current;
    if (!frame || frame.videoWidth === 0) {
      return;
    }
    const canvas = document.createElement('canvas');
    canvas.width = frame.videoWidth;
    canvas.height = frame.videoHeight;
    canvas.getContext('2d')?.drawImage(frame, 0, 0);
    canvas.toBlob(
      (blob) => blob && onCapture(new File([blob], 'webcam-photo.jpg', { type: 'image/jpeg' })),
      'image/jpeg',
      0.92,
    );
  }

  return (
    <div className="webcam">
      {state.kind === 'unavailable' ? (
        <p role="alert" className="notice notice-error">
          {state.message}
        </p>
      ) : (
        <video ref={video} autoPlay playsInline muted aria-label="Camera preview" />
      )}
      <p role="status" className="muted">
        {state.kind === 'starting' && 'Starting the camera…'}
      </p>
      <div className="actions">
        <button type="button" onClick={capture} disabled={state.kind !== 'live'}>
          Take photo
        </button>
        <button type="button" className="secondary" onClick={onClose}>
          Close camera
        </button>
      </div>
    </div>
  );
}
