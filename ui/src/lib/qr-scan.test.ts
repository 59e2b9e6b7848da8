import { describe, expect, it } from "vitest";
import QRCode from "qrcode";
import { readQr, scanSize } from "./qr-scan";

/** Renders `text` as a QR code into RGBA pixels, as a screenshot of the invite would hold. */
function render(text: string, { scale = 4, margin = 4, invert = false } = {}) {
  const qr = QRCode.create(text, { errorCorrectionLevel: "M" });
  const n = qr.modules.size;
  const side = (n + 2 * margin) * scale;
  const pixels = new Uint8ClampedArray(side * side * 4);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const mx = Math.floor(x / scale) - margin;
      const my = Math.floor(y / scale) - margin;
      const dark = mx >= 0 && my >= 0 && mx < n && my < n && qr.modules.get(my, mx) === 1;
      const v = dark !== invert ? 0 : 255;
      const i = (y * side + x) * 4;
      pixels.set([v, v, v, 255], i);
    }
  }
  return { pixels, side };
}

const code = "grove1" + "8N3V5KQ0W2XJ7R4T9M6P1C0D3E5F7G9H2J4K6M8N0P2Q4R6S8T0V2W4X6Y8Z0A1B3C5D7E9F1G3H5J7K9M1N3P5Q7R9S1T3V5W7X9";

describe("reading an invite from its QR code", () => {
  it("reads the code the Members view shows", () => {
    const { pixels, side } = render(code);
    expect(readQr(pixels, side, side)).toEqual({ code });
  });

  it("reads a dark-theme picture (light on dark)", () => {
    const { pixels, side } = render(code, { invert: true });
    expect(readQr(pixels, side, side)).toEqual({ code });
  });

  it("strips line breaks a QR reader or mail client added", () => {
    const { pixels, side } = render(code.slice(0, 40) + "\n" + code.slice(40));
    expect(readQr(pixels, side, side)).toEqual({ code });
  });

  it("says when a QR code is not a Grove code", () => {
    const { pixels, side } = render("https://example.org/not-an-invite");
    const out = readQr(pixels, side, side);
    expect("error" in out && out.error).toMatch(/not a Grove invite/);
  });

  it("says when there is no QR code in the picture", () => {
    const side = 200;
    const blank = new Uint8ClampedArray(side * side * 4).fill(255);
    const out = readQr(blank, side, side);
    expect("error" in out && out.error).toMatch(/No QR code could be read/);
  });

  it("scales big photos down and leaves small pictures alone", () => {
    expect(scanSize(4000, 3000)).toEqual({ width: 1600, height: 1200 });
    expect(scanSize(300, 500)).toEqual({ width: 300, height: 500 });
  });
});
