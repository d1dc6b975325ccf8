/*
 * The DSDT of a Linux VM (ACPI 6.4, hardware-reduced): what Linux cannot
 * probe by itself on emhv's minimal PC. COM1, the virtio-mmio slots
 * (include/emhv/guest_boot.h: EMHV_VIRTIO_SLOTS windows of 4 KiB from
 * EMHV_VIRTIO_MMIO_GPA, I/O APIC line EMHV_VIRTIO_IRQ_BASE + slot, level,
 * active high; an empty slot reads as device ID 0, which drivers ignore),
 * the pvpanic port and the S5 sleep type the FADT's sleep control register
 * takes. Compiled by iasl at build time; drivers/vdev/vacpi.c places it.
 */
DefinitionBlock ("", "DSDT", 2, "EMHV  ", "EMHVDSDT", 1)
{
    Scope (\_SB)
    {
        Device (COM1)
        {
            Name (_HID, EisaId ("PNP0501"))
            Name (_UID, One)
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08)
                IRQNoFlags () {4}
            })
        }

        Device (PEVT)
        {
            Name (_HID, "QEMU0001")
            Name (_UID, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16, 0x0505, 0x0505, 0x01, 0x01)
            })
        }

        Device (VR00)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 0)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xD0000000, 0x00001000)
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {16}
            })
        }
        Device (VR01)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 1)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xD0001000, 0x00001000)
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {17}
            })
        }
        Device (VR02)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 2)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xD0002000, 0x00001000)
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {18}
            })
        }
        Device (VR03)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 3)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xD0003000, 0x00001000)
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {19}
            })
        }
        Device (VR04)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 4)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xD0004000, 0x00001000)
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {20}
            })
        }
        Device (VR05)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 5)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xD0005000, 0x00001000)
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {21}
            })
        }
        Device (VR06)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 6)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xD0006000, 0x00001000)
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {22}
            })
        }
        Device (VR07)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 7)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xD0007000, 0x00001000)
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {23}
            })
        }
    }

    Name (\_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })
}
