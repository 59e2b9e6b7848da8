// Reading an invite code from a picture of its QR code: a screenshot or photo a member
// sent, as a file or pasted from the clipboard. jsQR does the decoding; this turns an image
// into pixels and checks that what it read is a Grove code before it goes into the field.
import jsQR from "jsqr";
import { cleanCode } from "./live";

export type Scan = { code: string } | { error: string };

// A QR code needs few pixels; scaling big photos down keeps decoding quick.
const MAX_SIDE = 1600;

/** Reads a Grove code from RGBA pixels (dark-on-light or light-on-dark). */
export function readQr(pixels: Uint8ClampedArray, width: number, height: number): Scan {
  const found = jsQR(pixels, width, height, { inversionAttempts: "attemptBoth" });
  if (!found || !found.data.trim()) {
    return { error: "No QR code could be read in that picture. Try a sharper or closer one, or paste the code as text." };
  }
  const code = cleanCode(found.data);
  if (!/^grove1/i.test(code)) {
    return { error: "That QR code is not a Grove invite (a Grove code starts with grove1). Ask for the code again." };
  }
  return { code };
}

/** The size to draw an image at before decoding it. */
export function scanSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height, 1));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Reads a Grove code from an image file or a pasted image (in the window). */
export async function readQrImage(image: Blob): Promise<Scan> {
  // Decoded straight from the bytes: no blob URL, so the window's CSP stays as strict.
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(image);
  } catch {
    return { error: "That file is not a picture Grove can read. Use a PNG or JPEG of the QR code." };
  }
  try {
    const { width, height } = scanSize(bitmap.width, bitmap.height);
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    if (!ctx) return { error: "This window cannot read pictures. Paste the code as text instead." };
    ctx.drawImage(bitmap, 0, 0, width, height);
    return readQr(ctx.getImageData(0, 0, width, height).data, width, height);
  } finally {
    bitmap.close();
  }
}

/** The first image among pasted or dropped items, if any. */
export function imageIn(data: DataTransfer | null): File | null {
  for (const item of data?.items ?? []) {
    if (item.kind === "file" && item.type.startsWith("image/")) return item.getAsFile();
  }
  return null;
}
