// 紹介状: choosing an entry of the 紹介先 address book fills the institution, its code, the department and the
// doctor's name; the doctor may still change them. Without JavaScript the server fills the empty 紹介先 fields from
// the chosen entry when the form is saved.
const picker = document.querySelector("[data-letter-destination]");
if (picker) {
  const targets = { institution: "f-to_institution", institutionCode: "f-to_institution_code",
                    department: "f-to_department", doctor: "f-to_doctor" };
  picker.addEventListener("change", () => {
    const chosen = picker.selectedOptions[0];
    if (!chosen || !chosen.value) return;
    for (const [key, id] of Object.entries(targets)) {
      const field = document.getElementById(id);
      if (field) field.value = chosen.dataset[key] || "";
    }
  });
}
