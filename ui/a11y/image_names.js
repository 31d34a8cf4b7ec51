// Streamlit's st.image has no alt text (axe: image-alt, critical). Every image the app shows has a
// caption saying what it is, right under it: this names each image by its caption as soon as it
// appears, in every page of this browser tab, once (a MutationObserver on the whole document; the
// query it runs is cheap, and the map and the digits are canvases, which mutate no DOM).
// It also sets <html lang> to the app's language (data.lang), on every render: a screen reader
// picks its voice by it, and Streamlit always writes "en".
export default function ({ data }) {
  if (data && /^[a-z]{2,3}(-[A-Za-z0-9]+)?$/.test(data.lang || "")) document.documentElement.lang = data.lang;
  if (window.__latentLabImageNames) return;
  window.__latentLabImageNames = true;
  const name = () => {
    for (const img of document.querySelectorAll('[data-testid="stImageContainer"] img:not([alt])')) {
      const caption = img.parentElement.querySelector('[data-testid="stImageCaption"]');
      img.alt = caption ? caption.textContent.trim() : "";
    }
  };
  new MutationObserver(name).observe(document.body, { childList: true, subtree: true });
  name();
}
