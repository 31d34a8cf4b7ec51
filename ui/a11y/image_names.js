// Streamlit's st.image has no alt text (axe: image-alt, critical). Every image the app shows has a
// caption saying what it is, right under it: this names each image by its caption as soon as it
// appears, in every page of this browser tab, once (a MutationObserver on the whole document; the
// query it runs is cheap, and the map and the digits are canvases, which mutate no DOM).
export default function () {
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
