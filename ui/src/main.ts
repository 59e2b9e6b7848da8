import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { FakeBackend } from "./fake-backend";
import { inTauri, tauriBackend } from "./tauri-backend";

// Outside the Tauri window (a browser on `vite dev`) the UI runs on the in-memory fake.
const backend = inTauri() ? tauriBackend() : new FakeBackend();
const target = document.getElementById("app");
if (target) mount(App, { target, props: { backend } });
