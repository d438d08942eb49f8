// The results page: "Add a filter" adds one more `path op value` field to the query form.
const button = document.querySelector("#add-filter");
if (button) {
  button.addEventListener("click", () => {
    const input = document.createElement("input");
    input.name = "filters";
    input.className = "json-filter";
    input.placeholder = "machine.cpu.count >= 4";
    button.before(input);
    input.focus();
  });
}
